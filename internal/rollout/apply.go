package rollout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// Options pace and bound Apply.
type Options struct {
	// MaxUnavailable is how many pods of one owner are changed in place at once: a count,
	// or a percentage of the owner's pods (rounded down, at least 1). Default 1.
	MaxUnavailable intstr.IntOrString
	// Interval is the pause between two batches of one owner.
	Interval time.Duration
	// Timeout bounds each wait: for a batch of pods to run their new definition, for a
	// pod to be back after a rollback, for an owner's rollout to make progress.
	Timeout time.Duration
	// Parallel is how many owners are worked on at once. Default 1.
	Parallel int
	// Restart recreates the pods whose changes a running pod does not accept; false
	// leaves them, and does only the in-place part.
	Restart bool
	// Progress receives a line per batch and per owner restarted; nil discards them.
	Progress io.Writer
	// Poll is how often a pod or owner is read while waiting. Default 1s.
	Poll time.Duration
}

// ErrFailed says a step of the rollout failed: it stopped there, and the report says
// which pod and why.
var ErrFailed = errors.New("the rollout stopped at a failure")

// ParseMaxUnavailable reads the value of flag (--max-unavailable): a count of at least
// 1, or a percentage from 1% to 100%.
func ParseMaxUnavailable(flag, s string) (intstr.IntOrString, error) {
	bad := fmt.Errorf("%s must be a count of pods (1, 2, …) or a percentage of an owner's pods (1%% to 100%%), not %q", flag, s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100 {
			return intstr.IntOrString{}, bad
		}
		return intstr.FromString(s), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return intstr.IntOrString{}, bad
	}
	return intstr.FromInt32(int32(min(n, 1<<30))), nil
}

// BatchSize is how many of an owner's total pods go at once.
func BatchSize(v intstr.IntOrString, total int) int {
	n, err := intstr.GetScaledValueFromIntOrPercent(&v, total, false)
	if err != nil {
		return 1
	}
	return max(n, 1)
}

// Apply carries out plan: first every in-place change, owner by owner in batches, then
// the restarts. It records each pod's outcome in plan. It returns ErrFailed after a
// failure, ctx's error when ctx ended it (after the step under way), nil when all is done.
func Apply(ctx context.Context, client kubernetes.Interface, plan *Plan, opts Options) error {
	opts.defaults()
	a := &applier{client: client, opts: opts, ctx: ctx, progress: newProgress(opts.Progress, plan, opts.Restart)}
	var inPlace, restarts []*OwnerPlan
	for i := range plan.Owners {
		o := &plan.Owners[i]
		restartable := RestartsThroughTemplate(o.Owner)
		if opts.Restart && o.has(ActionRestart) {
			restarts = append(restarts, o)
		}
		if o.has(ActionInPlace) && !(opts.Restart && restartable && o.has(ActionRestart)) {
			inPlace = append(inPlace, o)
		}
	}
	a.each(inPlace, a.inPlace)
	a.each(restarts, a.restart)
	for i := range plan.Owners {
		for j := range plan.Owners[i].Pods {
			r := &plan.Owners[i].Pods[j]
			if r.Outcome == "" && (r.Action == ActionInPlace || r.Action == ActionRestart && opts.Restart) {
				r.Outcome = OutcomeNotStarted
			}
		}
	}
	switch {
	case a.failed.Load():
		return ErrFailed
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return nil
}

func (o *Options) defaults() {
	if o.MaxUnavailable == (intstr.IntOrString{}) {
		o.MaxUnavailable = intstr.FromInt32(1)
	}
	o.Parallel = max(o.Parallel, 1)
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
}

func (o *OwnerPlan) has(a Action) bool {
	for _, p := range o.Pods {
		if p.Action == a {
			return true
		}
	}
	return false
}

// applier is one Apply. ctx is the caller's: once it ends, nothing new starts, but the
// step under way (a wait, a rollback) finishes on a context of its own.
type applier struct {
	client   kubernetes.Interface
	opts     Options
	ctx      context.Context
	failed   atomic.Bool
	progress *progress
}

// stopped says whether to start nothing more.
func (a *applier) stopped() bool { return a.failed.Load() || a.ctx.Err() != nil }

// step is a context for one step: it outlives the caller's, and ends after the timeout.
func (a *applier) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(a.ctx), a.opts.Timeout)
}

// each runs work on owners, opts.Parallel at a time, starting none once stopped.
func (a *applier) each(owners []*OwnerPlan, work func(*OwnerPlan)) {
	next := make(chan *OwnerPlan)
	var wg sync.WaitGroup
	for range min(a.opts.Parallel, len(owners)) {
		wg.Go(func() {
			for o := range next {
				work(o)
			}
		})
	}
	for _, o := range owners {
		if a.stopped() {
			break
		}
		next <- o
	}
	close(next)
	wg.Wait()
}

// inPlace changes an owner's in-place pods, a batch at a time.
func (a *applier) inPlace(o *OwnerPlan) {
	var todo []*PodResult
	for i := range o.Pods {
		if o.Pods[i].Action == ActionInPlace {
			todo = append(todo, &o.Pods[i])
		}
	}
	size := BatchSize(a.opts.MaxUnavailable, o.Total)
	for i := 0; i < len(todo); i += size {
		if i > 0 && !a.sleep(a.opts.Interval) || a.stopped() {
			return
		}
		batch := todo[i:min(i+size, len(todo))]
		a.batch(batch)
		a.progress.batch(o.Owner, batch)
	}
}

// sleep waits d unless ctx ends first, and says whether it slept all of it.
func (a *applier) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-a.ctx.Done():
		return false
	}
}

// batch changes pods in place, then waits for each to run its new definition; a pod that
// fails is put back as it was, and stops the rollout.
func (a *applier) batch(batch []*PodResult) {
	ctx, cancel := a.step()
	defer cancel()
	var started []*change
	for _, r := range batch {
		c, err := a.change(ctx, r)
		if err != nil {
			r.Outcome, r.Error = OutcomeFailed, err.Error()
			if c != nil { // half changed: a resize went through
				a.rollback(c, err)
			}
			a.failed.Store(true)
			break
		}
		started = append(started, c)
	}
	for _, c := range started {
		if err := a.await(ctx, c.pod.Namespace, c.pod.Name, c.target()); err != nil {
			a.rollback(c, err)
			a.failed.Store(true)
			continue
		}
		c.result.Outcome = OutcomeUpdated
	}
}
