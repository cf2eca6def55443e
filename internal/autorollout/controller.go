package autorollout

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	corev1 "k8s.io/api/core/v1"

	"github.com/tandem-io/tandem/internal/audit"
	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/rollout"
)

// Options configure a Controller.
type Options struct {
	// Client reads and changes pods and owners, and writes events.
	Client kubernetes.Interface
	// Config returns the configuration to roll out; it is called at each pass, so that it
	// follows a file the server reloads. When it fails, the last one it returned is used.
	Config func() (*config.Config, error)
	Settings
	// Timeout bounds each wait of a step.
	Timeout time.Duration
	// SelfNamespace and SelfName name the pod this replica runs in: when its top owner
	// (Tandem's Deployment) carries tandem.io/rollout: paused, every change stops. An
	// empty SelfName (not in a pod) skips that check.
	SelfNamespace, SelfName string
	Log                     *slog.Logger
	// Recorder writes the events; nil: one that writes them through Client.
	Recorder record.EventRecorder
	// Poll is how often a pod or owner is read while waiting. Default 1s.
	Poll time.Duration
}

func (o *Options) validate() error {
	var errs []error
	if o.Client == nil || o.Config == nil || o.Log == nil {
		errs = append(errs, errors.New("rollout: a client, a configuration and a logger are required"))
	}
	if o.Interval <= 0 || o.Timeout <= 0 {
		errs = append(errs, errors.New("rollout: the interval and the timeout must be positive"))
	}
	if o.MaxUnavailable == (intstr.IntOrString{}) {
		o.MaxUnavailable = intstr.FromInt32(1)
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	return errors.Join(errs...)
}

// Controller carries out the rollout planner's actions while its replica leads. Its Run
// is an audit.Task; it is a prometheus.Collector of the rollout's series, exported only
// while it runs.
type Controller struct {
	opts Options
	log  *slog.Logger

	mu sync.Mutex
	// shown is the last pass's counts, replaced whole by the next; nil while not
	// leading, so that only the leader exports series.
	shown *snapshot

	// The rest belongs to the goroutine of Run.
	last     *config.Config
	digest   string
	counts   map[key]int // done and failed, since digest took effect
	failure  *failure
	lastFail time.Time
	pods     map[types.UID]*corev1.Pod
	// verdicts are the pods' last verdicts, passes counts the passes.
	verdicts map[types.UID]verdict
	passes   int
	// restarted are the owners this leader restarted, with the configuration it was for.
	restarted map[rollout.Ref]string
	// servedSince is the configuration every ready replica served at the last check;
	// waiting is why restarts waited then, logged once.
	servedSince, waiting string
	// moved are the pods this pass's step changed: no longer pending.
	moved  map[types.UID]bool
	self   *corev1.Pod
	events record.EventRecorder
	// quiet is why the last pass changed nothing (paused, halted), so that it is logged
	// once rather than every interval.
	quiet string
}

var _ audit.Task = (&Controller{}).Run

// New checks opts and returns a Controller that does nothing until Run.
func New(opts Options) (*Controller, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Controller{opts: opts, log: opts.Log.With("component", "rollout")}, nil
}

// Run rolls out until ctx ends, a pass every Interval: the step under way when ctx ends
// is finished first (its waits run on contexts of their own).
func (c *Controller) Run(ctx context.Context, view audit.View) {
	defer c.begin(ctx)()
	var cl *rollout.Cluster
	for {
		if cl == nil {
			found, err := rollout.DetectCluster(ctx, c.opts.Client.Discovery())
			if err != nil {
				c.log.Warn("cannot tell the cluster's features; trying again next interval", "error", err.Error())
			} else {
				cl = &found
			}
		}
		if cl != nil {
			c.pass(ctx, view, *cl)
		}
		t := time.NewTimer(c.opts.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// begin readies a term of leading: an event recorder and an empty cache of pods. The
// function it returns ends the term: it stops the recorder and the series.
func (c *Controller) begin(ctx context.Context) func() {
	events, stop := c.recorder(ctx)
	c.events, c.pods, c.restarted = events, map[types.UID]*corev1.Pod{}, map[rollout.Ref]string{}
	c.verdicts = map[types.UID]verdict{}
	c.log.Info("leading the rollout", "settings", c.opts.Settings.String())
	return func() {
		stop()
		c.drop()
	}
}

// pass looks at the pods once, publishes what it found, and carries out one step
// unless the rollout is paused or halted.
func (c *Controller) pass(ctx context.Context, view audit.View, cl rollout.Cluster) {
	cfg := c.config()
	if cfg == nil {
		return
	}
	c.passes++
	c.follow(cfg)
	c.tidy(ctx, view)
	plan, err := c.plan(ctx, view, cfg, cl)
	if err != nil {
		c.log.Warn("cannot plan the rollout; trying again next interval", "error", err.Error())
		return
	}
	why, halted := c.stopped(ctx, view)
	c.moved = map[types.UID]bool{}
	c.publish(plan, why != "", halted)
	if why != c.quiet {
		if why != "" {
			c.log.Info("rollout stopped: "+why, "config", c.digest)
		} else if c.quiet != "" {
			c.log.Info("rollout resumed", "config", c.digest)
		}
		c.quiet = why
	}
	if why != "" || ctx.Err() != nil {
		return
	}
	if s, ok := c.next(ctx, plan); ok && c.failure == nil {
		c.run(ctx, s)
		c.publish(plan, false, c.failure != nil)
	}
}

// config is the configuration to roll out: Config's, or the last good one.
func (c *Controller) config() *config.Config {
	cfg, err := c.opts.Config()
	if err == nil {
		c.last = cfg
		return cfg
	}
	if c.last == nil {
		c.log.Error("no configuration to roll out; nothing until one loads", "error", err.Error())
	}
	return c.last
}

// follow starts the counts afresh when the configuration changes.
func (c *Controller) follow(cfg *config.Config) {
	if cfg.SHA256 == c.digest {
		return
	}
	if c.digest != "" {
		c.log.Info("configuration changed; rolling it out", "config", cfg.SHA256, "previous", c.digest)
	}
	c.digest, c.counts, c.quiet = cfg.SHA256, map[key]int{}, ""
}
