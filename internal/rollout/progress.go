package rollout

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress writes a line per step of an Apply: what was done, how much of the whole,
// and an estimate of the time left from the pace so far.
type progress struct {
	mu          sync.Mutex
	w           io.Writer
	start       time.Time
	done, total int
}

// newProgress counts the pods plan changes: in place, and restarted when restart.
func newProgress(w io.Writer, plan *Plan, restart bool) *progress {
	if w == nil {
		w = io.Discard
	}
	p := &progress{w: w, start: time.Now()}
	for _, o := range plan.Owners {
		for _, r := range o.Pods {
			if r.Action == ActionInPlace || r.Action == ActionRestart && restart {
				p.total++
			}
		}
	}
	return p
}

// batch reports a batch of an owner's pods changed in place.
func (p *progress) batch(owner Ref, batch []*PodResult) {
	names := make([]string, len(batch))
	var failed int
	for i, r := range batch {
		names[i] = r.Name
		if r.Outcome != OutcomeUpdated {
			failed++
		}
	}
	what := "updated in place"
	if failed > 0 {
		what = fmt.Sprintf("in place, %d failed", failed)
	}
	p.line(len(batch), "%s %s/%s: %s %s (%s)", kindName(owner), owner.Namespace, owner.Name, plural(len(batch), "pod"), what, strings.Join(names, ", "))
}

// line writes one progress line, counting n more pods done.
func (p *progress) line(n int, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	elapsed := time.Since(p.start)
	eta := "?"
	if p.done > 0 {
		eta = (elapsed / time.Duration(p.done) * time.Duration(max(p.total-p.done, 0))).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "rollout: "+format+"; %d/%d pods, %s elapsed, about %s left\n",
		append(args, p.done, p.total, elapsed.Round(time.Second), eta)...)
}
