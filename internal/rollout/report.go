package rollout

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tandem-io/tandem/internal/output"
)

// Plan is what a rollout does: every pod that needs something, grouped by owner.
type Plan struct {
	Cluster Cluster `json:"cluster"`
	// Pods counts the pods looked at (selected, unfinished, not being deleted).
	Pods int `json:"pods"`
	// Counts counts the pods looked at by action, "none" for the current ones.
	Counts map[Action]int `json:"counts"`
	Owners []OwnerPlan    `json:"owners"`
}

// OwnerPlan is the pods of one owner that need something.
type OwnerPlan struct {
	Owner Ref `json:"owner"`
	// Total counts the owner's pods looked at, current ones included: a percentage of
	// --max-unavailable is of it.
	Total int `json:"total"`
	// Replicas is how many pods the owner wants, 0 when unknown: the rollout controller,
	// which looks only at outdated pods, takes a percentage of it.
	Replicas int         `json:"-"`
	Pods     []PodResult `json:"pods"`
}

// Outcome is what an applied rollout did to a pod.
type Outcome string

const (
	OutcomeUpdated    Outcome = "updated"     // changed in place, running the new definition
	OutcomeRestarted  Outcome = "restarted"   // recreated through its owner
	OutcomeRolledBack Outcome = "rolled-back" // failed, and put back as it was
	OutcomeFailed     Outcome = "failed"      // failed, and could not be put back
	OutcomeNotStarted Outcome = "not-started" // the rollout stopped before reaching it
)

// PodResult is a pod's plan and, once applied, its outcome.
type PodResult struct {
	PodPlan
	Outcome Outcome `json:"outcome,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// Done says whether every pod the rollout was to change has been changed.
func (p *Plan) Done() bool {
	for _, o := range p.Owners {
		for _, r := range o.Pods {
			if r.Outcome != OutcomeUpdated && r.Outcome != OutcomeRestarted && (r.Action == ActionInPlace || r.Action == ActionRestart) {
				return false
			}
		}
	}
	return true
}

// add files a pod's plan under its owner, and counts it; total counts the pods of an
// owner, current ones included.
func (p *Plan) add(pp PodPlan, byOwner map[Ref]*OwnerPlan) {
	p.Pods++
	p.Counts[pp.Action]++
	o := byOwner[pp.Owner]
	if o == nil {
		o = &OwnerPlan{Owner: pp.Owner}
		byOwner[pp.Owner] = o
	}
	o.Total++
	if pp.Action != ActionNone {
		o.Pods = append(o.Pods, PodResult{PodPlan: pp})
	}
}

// group sorts the owners with pods to act on by namespace, kind and name, and each
// owner's pods by name.
func (p *Plan) group(byOwner map[Ref]*OwnerPlan) {
	p.Owners = []OwnerPlan{}
	for _, o := range byOwner {
		if len(o.Pods) == 0 {
			continue
		}
		slices.SortFunc(o.Pods, func(a, b PodResult) int { return strings.Compare(a.Name, b.Name) })
		p.Owners = append(p.Owners, *o)
	}
	slices.SortFunc(p.Owners, func(a, b OwnerPlan) int {
		return cmp.Or(strings.Compare(a.Owner.Namespace, b.Owner.Namespace), strings.Compare(a.Owner.Kind, b.Owner.Kind),
			strings.Compare(a.Owner.Name, b.Owner.Name))
	})
}

// Formats are the values of `tandem rollout -o`.
var Formats = []string{"text", "json", "yaml"}

// Write renders the plan in format, one of Formats.
func Write(w io.Writer, format string, p *Plan) error {
	switch format {
	case "text":
		return WriteText(w, p)
	case "json":
		return output.JSON(w, p)
	case "yaml":
		return output.YAML(w, p)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// countOrder is the order of the counts line.
var countOrder = []Action{ActionInPlace, ActionRestart, ActionManual, ActionPaused}

// WriteText writes the plan for people: a block per owner, a line per pod and one per
// change, then the counts.
func WriteText(w io.Writer, p *Plan) error {
	var b strings.Builder
	for _, o := range p.Owners {
		if o.Owner.Is("", "Pod") {
			fmt.Fprintf(&b, "Pod %s/%s (a bare pod: no controller)\n", o.Owner.Namespace, o.Owner.Name)
		} else {
			fmt.Fprintf(&b, "%s %s/%s: %s of %d\n", kindName(o.Owner), o.Owner.Namespace, o.Owner.Name, plural(len(o.Pods), "pod"), o.Total)
		}
		for _, r := range o.Pods {
			fmt.Fprintf(&b, "  %s  %s", r.Name, r.Action)
			if r.Reason != "" {
				fmt.Fprintf(&b, ": %s", r.Reason)
			}
			if r.Outcome != "" {
				fmt.Fprintf(&b, "  [%s]", r.Outcome)
			}
			if r.Error != "" {
				fmt.Fprintf(&b, " %s", r.Error)
			}
			b.WriteString("\n")
			for _, c := range r.Changes {
				fmt.Fprintf(&b, "      %s\n", c)
			}
		}
		b.WriteString("\n")
	}
	var counts []string
	for _, a := range countOrder {
		counts = append(counts, fmt.Sprintf("%d %s", p.Counts[a], a))
	}
	fmt.Fprintf(&b, "%s; %d current (%s looked at).\n", strings.Join(counts, ", "), p.Counts[ActionNone], plural(p.Pods, "pod"))
	_, err := io.WriteString(w, b.String())
	return err
}

// kindName is a kind as people read it: Deployment, or Rollout.argoproj.io for a kind
// of another group than Kubernetes' own.
func kindName(ref Ref) string {
	switch g := group(ref); g {
	case "", "apps", "batch":
		return ref.Kind
	default:
		return ref.Kind + "." + g
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
