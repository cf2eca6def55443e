package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// MonitorOptions configure a Monitor. Every field is required but Tasks, and Interval
// when there are Tasks.
type MonitorOptions struct {
	// Metadata lists and watches the metadata of pods and namespaces.
	Metadata metadata.Interface
	// Leases holds the Lease that elects the one replica that computes the counts:
	// replicas that each exported them would make every sum over replicas wrong.
	Leases                    coordinationv1client.LeasesGetter
	LeaseNamespace, LeaseName string
	// Identity is this replica in the Lease; it must differ between replicas.
	Identity string
	// Interval is how often the counts are computed; 0 computes none, for a Monitor that
	// runs only Tasks.
	Interval time.Duration
	// Tasks run while this replica leads, each in its own goroutine, on what the
	// informers hold, until their context ends. The Lease is held until every task has
	// returned, so that the next leader never starts while one still has work under way.
	Tasks []Task
	// Config returns the configuration to audit against. It is called at each
	// computation, so that it follows a file the server reloads; when it fails, the last
	// configuration it returned is used.
	Config func() (*config.Config, error)
	Log    *slog.Logger
}

func (o *MonitorOptions) validate() error {
	var errs []error
	if o.Metadata == nil || o.Leases == nil || o.Config == nil || o.Log == nil {
		errs = append(errs, errors.New("audit: a metadata client, a leases client, a configuration and a logger are required"))
	}
	if o.LeaseNamespace == "" || o.LeaseName == "" || o.Identity == "" {
		errs = append(errs, errors.New("audit: the Lease's namespace and name, and this replica's identity, are required"))
	}
	if o.Interval < 0 || o.Interval == 0 && len(o.Tasks) == 0 {
		errs = append(errs, errors.New("audit: the interval must be positive"))
	}
	return errors.Join(errs...)
}

// election is how the Lease is held: client-go's usual timings, which tolerate an API
// server that is slow for a few seconds without changing leaders.
type election struct {
	leaseDuration, renewDeadline, retryPeriod time.Duration
}

var defaultElection = election{leaseDuration: 15 * time.Second, renewDeadline: 10 * time.Second, retryPeriod: 2 * time.Second}

// Monitor counts, every Interval, the pods that lack a sidecar they asked for and those
// that carry an outdated one, per namespace and sidecar, and exports the counts as
// Prometheus gauges. Only the replica that holds the Lease watches pods and exports
// anything; the others wait for the Lease and export no series.
type Monitor struct {
	opts     MonitorOptions
	election election
	log      *slog.Logger

	mu sync.Mutex
	// counts is the last computation's, replaced whole by the next; nil while this
	// replica does not lead, so that it exports no series.
	counts *counts

	// lastConfig is the last configuration Config returned; only the leading goroutine
	// reads it.
	lastConfig *config.Config
}

// NewMonitor checks opts and returns a Monitor that does nothing until Run.
func NewMonitor(opts MonitorOptions) (*Monitor, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	m := &Monitor{opts: opts, election: defaultElection, log: opts.Log.With("component", "audit")}
	// Building an elector checks what client-go checks (the Lease's timings and names),
	// so that a Monitor that cannot run is refused here rather than when it starts.
	if _, err := m.elector(make(chan context.Context, 1)); err != nil {
		return nil, err
	}
	return m, nil
}

var (
	missingDesc = prometheus.NewDesc("tandem_pods_missing_sidecars",
		"Pods that asked for a sidecar and do not carry it, by namespace and sidecar. Computed every --audit-interval by the one replica that holds the audit Lease; the others export no series.",
		[]string{"namespace", "sidecar"}, nil)
	outdatedDesc = prometheus.NewDesc("tandem_pods_outdated_sidecars",
		"Pods that carry a sidecar from a definition that has changed since, or left the configuration, by namespace and sidecar. Computed like tandem_pods_missing_sidecars.",
		[]string{"namespace", "sidecar"}, nil)
)

// Describe and Collect make the Monitor a prometheus.Collector.
func (m *Monitor) Describe(ch chan<- *prometheus.Desc) {
	ch <- missingDesc
	ch <- outdatedDesc
}

func (m *Monitor) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	c := m.counts
	m.mu.Unlock()
	if c == nil {
		return
	}
	for s, n := range c.missing {
		ch <- prometheus.MustNewConstMetric(missingDesc, prometheus.GaugeValue, float64(n), s.namespace, s.sidecar)
	}
	for s, n := range c.outdated {
		ch <- prometheus.MustNewConstMetric(outdatedDesc, prometheus.GaugeValue, float64(n), s.namespace, s.sidecar)
	}
}

// Run takes part in the election until ctx is done: while this replica leads, it watches
// pods and namespaces and computes the counts; when it stops leading (or ctx is done) it
// drops them, and lets the Lease go so that another replica takes over at once. It
// returns an error only when the election cannot be set up, which NewMonitor has
// checked; it returns nil when ctx is done.
func (m *Monitor) Run(ctx context.Context) error {
	// client-go's election and informers log through klog: into Tandem's log instead.
	ctx = klog.NewContext(ctx, logr.FromSlogHandler(m.log.Handler()))
	for ctx.Err() == nil {
		if err := m.term(ctx); err != nil {
			return err
		}
	}
	return nil
}

// elector builds the election of one term; led receives the term's context when this
// replica starts leading.
func (m *Monitor) elector(led chan<- context.Context) (*leaderelection.LeaderElector, error) {
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: m.opts.LeaseNamespace, Name: m.opts.LeaseName},
			Client:     m.opts.Leases,
			LockConfig: resourcelock.ResourceLockConfig{Identity: m.opts.Identity},
		},
		LeaseDuration:   m.election.leaseDuration,
		RenewDeadline:   m.election.renewDeadline,
		RetryPeriod:     m.election.retryPeriod,
		ReleaseOnCancel: true,
		Name:            m.opts.LeaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			// Leading happens below, in term's goroutine, so that term returns only once
			// the informers have stopped.
			OnStartedLeading: func(leading context.Context) { led <- leading },
			OnStoppedLeading: m.drop,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("audit: the Lease %s/%s: %w", m.opts.LeaseNamespace, m.opts.LeaseName, err)
	}
	return le, nil
}

// term runs one election: it waits for the Lease, leads while it holds it, and returns
// when it loses it or ctx is done. The election runs on a context of its own, ended only
// once leading has stopped: a task finishing a step after ctx is done keeps the Lease
// until it returns.
func (m *Monitor) term(ctx context.Context) error {
	led := make(chan context.Context, 1)
	le, err := m.elector(led)
	if err != nil {
		return err
	}
	election, endElection := context.WithCancel(context.WithoutCancel(ctx))
	defer endElection()
	done := make(chan struct{})
	go func() {
		defer close(done)
		le.Run(election)
	}()
	select {
	case leading := <-led:
		m.log.Info("leading the audit", "lease", m.opts.LeaseNamespace+"/"+m.opts.LeaseName, "identity", m.opts.Identity)
		work, stop := context.WithCancel(leading)
		stopWithCtx := context.AfterFunc(ctx, stop)
		m.lead(work)
		stopWithCtx()
		stop()
		m.log.Info("no longer leading the audit", "lease", m.opts.LeaseNamespace+"/"+m.opts.LeaseName)
	case <-done:
	case <-ctx.Done():
	}
	endElection()
	<-done
	return nil
}

// lead watches pods and namespaces, computes the counts every Interval and runs the
// tasks, until ctx, the term's, is done.
func (m *Monitor) lead(ctx context.Context) {
	pods := podInformer(m.opts.Metadata)
	namespaces := metadatainformer.NewFilteredMetadataInformer(m.opts.Metadata, namespacesResource, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	// It cannot fail before the informer runs.
	_ = namespaces.SetTransform(keepNameAndTandemKeys)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { pods.RunWithContext(ctx) })
	wg.Go(func() { namespaces.RunWithContext(ctx) })
	defer m.drop()
	if !cache.WaitForCacheSync(ctx.Done(), pods.HasSynced, namespaces.HasSynced) {
		return
	}
	view := View{pods: pods.GetStore(), namespaces: namespaces.GetStore()}
	for _, task := range m.opts.Tasks {
		wg.Go(func() { task(ctx, view) })
	}
	if m.opts.Interval == 0 {
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(m.opts.Interval)
	defer tick.Stop()
	for {
		m.compute(ctx, view)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// compute counts from the informers' stores, without a call to the API server.
func (m *Monitor) compute(ctx context.Context, view View) {
	cfg, err := m.opts.Config()
	if err == nil {
		m.lastConfig = cfg
	}
	cfg = m.lastConfig
	if err != nil {
		if cfg == nil {
			m.log.Error("no configuration to audit against; no counts until one loads", "error", err.Error())
			return
		}
		m.log.Warn("configuration rejected; auditing against the last good one", "error", err.Error())
	}
	start := time.Now()
	c := count(view.pods.List(), view.Namespace, cfg)
	if m.publish(ctx, c) {
		m.log.Info("pods audited", "pods", c.pods, "podsMissingSidecars", c.podsMissing,
			"podsWithOutdatedSidecars", c.podsOutdated, "took", time.Since(start).String())
	}
}

// publish replaces the counts whole, so that the series of a namespace or sidecar gone
// since disappear. Counts computed in a term that has ended are not published: the
// replica that leads now exports its own.
func (m *Monitor) publish(term context.Context, c *counts) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if term.Err() != nil {
		return false
	}
	m.counts = c
	return true
}

// drop stops exporting series: this replica no longer leads.
func (m *Monitor) drop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts = nil
}

// series is one label set of the gauges.
type series struct{ namespace, sidecar string }

// counts is one computation.
type counts struct {
	missing, outdated               map[series]int
	pods, podsMissing, podsOutdated int
}

// count audits pods (the informer's objects) against cfg.
func count(pods []any, namespace func(string) inject.Namespace, cfg *config.Config) *counts {
	c := &counts{missing: map[series]int{}, outdated: map[series]int{}}
	for _, obj := range pods {
		pod, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok || pod.DeletionTimestamp != nil {
			continue
		}
		c.pods++
		a := inject.AuditPod(pod.Labels, pod.Annotations, namespace(pod.Namespace), cfg)
		for _, s := range a.Missing {
			c.missing[series{pod.Namespace, s}]++
		}
		for _, s := range a.Outdated {
			c.outdated[series{pod.Namespace, s}]++
		}
		if len(a.Missing) > 0 {
			c.podsMissing++
		}
		if len(a.Outdated) > 0 {
			c.podsOutdated++
		}
	}
	return c
}

// podInformer lists and watches the metadata of every unfinished pod, and stores what
// an audit reads of it (keepAuditFields). It keeps no index: the audit reads the store
// whole.
func podInformer(client metadata.Interface) cache.SharedIndexInformer {
	pods := metadatainformer.NewFilteredMetadataInformer(client, podsResource, metav1.NamespaceAll, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.FieldSelector = UnfinishedPods }).Informer()
	// It cannot fail before the informer runs.
	_ = pods.SetTransform(keepAuditFields)
	return pods
}

// keepAuditFields strips a pod to what an audit reads before the informer stores it: its
// name, namespace and UID, whether it is being deleted, and its tandem.io/ labels and
// annotations. The rest of a pod's metadata (managedFields alone are kilobytes) would be
// most of the informer's memory.
func keepAuditFields(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok { // a tombstone of a deleted pod
		return obj, nil
	}
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion, DeletionTimestamp: m.DeletionTimestamp,
		Labels: tandemKeys(m.Labels), Annotations: tandemKeys(m.Annotations),
	}}, nil
}

// tandemKeys copies the tandem.io/ entries of m, nil when there are none. The copies
// let the decoded object go, and the two keys every injected pod carries are the
// package's constants rather than a string per pod.
func tandemKeys(m map[string]string) map[string]string {
	var out map[string]string
	for k, v := range m {
		if !strings.HasPrefix(k, config.KeyPrefix) { // Tandem's labels and annotations: the only ones an audit reads
			continue
		}
		switch k {
		case inject.InjectKey:
			k = inject.InjectKey
		case inject.StatusKey:
			k = inject.StatusKey
		default:
			k = strings.Clone(k)
		}
		if out == nil {
			out = make(map[string]string, 2)
		}
		out[k] = strings.Clone(v)
	}
	return out
}

// keepNameAndTandemKeys strips a namespace to its name, labels and tandem.io/
// annotations (a pause of the rollout) before it is stored.
func keepNameAndTandemKeys(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: m.Name, Labels: m.Labels, Annotations: tandemKeys(m.Annotations), ResourceVersion: m.ResourceVersion,
	}}, nil
}
