package autorollout

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/tandem-io/tandem/internal/rollout"
)

// key is one series of tandem_rollout_pods.
type key struct{ action, state string }

var (
	actions = []string{actionInPlace, actionRestart}
	states  = []string{"pending", "done", "failed", "paused"}
)

// snapshot is what one pass exports.
type snapshot struct {
	pods        map[key]int
	halted      bool
	lastFailure time.Time
}

var (
	podsDesc = prometheus.NewDesc("tandem_rollout_pods",
		"Pods of the rollout of the configuration served, by action (in-place, restart) and state: pending (to do), done and failed (since the configuration took effect, by this leader), paused (to do once resumed). Exported by the replica that leads the rollout only.",
		[]string{"action", "state"}, nil)
	lastFailureDesc = prometheus.NewDesc("tandem_rollout_last_failure_timestamp_seconds",
		"When a pod last failed to take a sidecar's new definition (and was put back), in seconds since the epoch; absent until one does.",
		nil, nil)
	haltedDesc = prometheus.NewDesc("tandem_rollout_halted",
		"1 while the rollout of the configuration served is halted by a failure (a pod annotated tandem.io/rollout-failed), else 0.",
		nil, nil)
)

// Describe and Collect make the Controller a prometheus.Collector.
func (c *Controller) Describe(ch chan<- *prometheus.Desc) {
	ch <- podsDesc
	ch <- lastFailureDesc
	ch <- haltedDesc
}

func (c *Controller) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	s := c.shown
	c.mu.Unlock()
	if s == nil {
		return
	}
	for _, a := range actions {
		for _, st := range states {
			ch <- prometheus.MustNewConstMetric(podsDesc, prometheus.GaugeValue, float64(s.pods[key{a, st}]), a, st)
		}
	}
	if !s.lastFailure.IsZero() {
		ch <- prometheus.MustNewConstMetric(lastFailureDesc, prometheus.GaugeValue, float64(s.lastFailure.UnixNano())/1e9)
	}
	halted := 0.0
	if s.halted {
		halted = 1
	}
	ch <- prometheus.MustNewConstMetric(haltedDesc, prometheus.GaugeValue, halted)
}

// publish replaces the series whole with what plan holds and what was done so far.
func (c *Controller) publish(plan *rollout.Plan, stopped, halted bool) {
	s := &snapshot{pods: map[key]int{}, halted: halted, lastFailure: c.lastFail}
	for _, o := range plan.Owners {
		for _, r := range o.Pods {
			action, ok := c.opts.wants(r.PodPlan)
			if !ok || c.moved[r.UID] {
				continue
			}
			state := "pending"
			if stopped || r.Action == rollout.ActionPaused {
				state = "paused"
			}
			s.pods[key{action, state}]++
		}
	}
	for k, n := range c.counts {
		s.pods[k] = n
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shown = s
}

// drop stops exporting series: this replica no longer leads.
func (c *Controller) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shown = nil
}

// recorder is Options.Recorder, or one that writes events through the client until
// stopped. Its context outlives Run's, so that the events of the last step are written.
func (c *Controller) recorder(ctx context.Context) (record.EventRecorder, func()) {
	if c.opts.Recorder != nil {
		return c.opts.Recorder, func() {}
	}
	b := record.NewBroadcaster(record.WithContext(context.WithoutCancel(ctx)))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.opts.Client.CoreV1().Events("")})
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "tandem-rollout"}), b.Shutdown
}
