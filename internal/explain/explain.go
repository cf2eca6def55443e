// Package explain turns the engine's inject.Explanation of each pod or pod template into
// what `tandem explain` prints: one Pod per pod or template, rendered as aligned text,
// JSON or YAML, and a verdict on whether each gets every sidecar it asks for. Like the
// engine it reads nothing but its arguments; the CLI fetches manifests or live pods.
package explain

import (
	"fmt"

	"github.com/tandem-io/tandem/internal/inject"
)

// Pod is the explanation of one pod or pod template. It is the one definition of what
// `tandem explain -o json|yaml` writes (a list of these); docs/annotations.md documents
// each field, so a change here is a change there.
type Pod struct {
	// Kind, Namespace and Name name the object: the Pod, or the workload whose pod
	// template this is. Namespace is the one the engine used: the object's, or the
	// default of the command line when the manifest names none.
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Requested names the sidecars asked for, as written; RequestedBy says who asked:
	// "the pod annotation tandem.io/inject", "the label tandem.io/inject of namespace
	// NS", or "" when nothing did (or the pod opted out).
	Requested   []string `json:"requested"`
	RequestedBy string   `json:"requestedBy"`
	OptedOut    bool     `json:"optedOut"`
	// Sidecars has the engine's decision on each sidecar requested, or, for a pod that
	// carries tandem.io/status, on each sidecar the status records.
	Sidecars []Sidecar `json:"sidecars"`
	Knobs    []Knob    `json:"knobs"`
	Warnings []string  `json:"warnings"`
	// Denied says admission would refuse the pod; Reason and Message are the pod's
	// outcome (the denial's when denied).
	Denied  bool          `json:"denied"`
	Reason  inject.Reason `json:"reason"`
	Message string        `json:"message"`
	// OK says the pod gets (or, already admitted, carries) every sidecar it asks for,
	// each from its current definition; Problems says, a phrase each, why not.
	OK       bool     `json:"ok"`
	Problems []string `json:"problems"`
}

// Sidecar is the decision on one sidecar.
type Sidecar struct {
	Name     string          `json:"name"`
	Decision inject.Decision `json:"decision"`
	Reason   inject.Reason   `json:"reason"`
	Message  string          `json:"message"`
}

// Knob is the value one knob of one requested sidecar gets, and where it comes from:
// "config", or "annotation tandem.io/<sidecar>.<knob>".
type Knob struct {
	Sidecar string `json:"sidecar"`
	Name    string `json:"name"`
	Value   string `json:"value"`
	From    string `json:"from"`
}

// Object names what a pod or template belongs to.
type Object struct{ Kind, Namespace, Name string }

// Origin says where the pod was read. It matters for a pod without tandem.io/status:
// in a manifest that is a pod yet to be admitted, in a cluster one that never was.
type Origin int

const (
	// Manifest: the pod or template is yet to be admitted; the decisions are what
	// admission would do.
	Manifest Origin = iota
	// Cluster: the pod exists; what counts is what it carries.
	Cluster
)

// statusReasons are the outcomes of a pod that carries tandem.io/status.
var statusReasons = map[inject.Reason]bool{inject.ReasonAlreadyInjected: true, inject.ReasonOutdated: true, inject.ReasonForeignStatus: true}

// New explains one pod or template from the engine's explanation of it.
func New(obj Object, x inject.Explanation, origin Origin) Pod {
	p := Pod{
		Kind: obj.Kind, Namespace: obj.Namespace, Name: obj.Name,
		Requested: nonNil(x.Requested), RequestedBy: x.Source, OptedOut: x.OptedOut,
		Sidecars: []Sidecar{}, Knobs: []Knob{}, Warnings: append([]string{}, x.Result.Warnings...), Problems: []string{},
		Denied: x.Denial != nil, Reason: x.Result.Reason, Message: x.Result.Message,
	}
	// A pod the engine cannot read has no result, only the denial.
	if p.Reason == "" && x.Denial != nil {
		p.Reason, p.Message = x.Denial.Reason, x.Denial.Message
	}
	for _, d := range x.Result.Sidecars {
		p.Sidecars = append(p.Sidecars, Sidecar(d))
	}
	for _, k := range x.Knobs {
		p.Knobs = append(p.Knobs, Knob(k))
	}
	if x.OptedOut {
		p.OK = true
		return p
	}
	carried := statusReasons[p.Reason]
	if x.Denial != nil && !denies(p.Sidecars) {
		p.Problems = append(p.Problems, fmt.Sprintf("the pod is denied (%s)", p.Reason))
	}
	for _, s := range p.Sidecars {
		switch {
		case s.Decision != inject.DecisionInjected:
			p.Problems = append(p.Problems, fmt.Sprintf("%s %s (%s)", s.Name, s.Decision, s.Reason))
		case s.Reason == inject.ReasonOutdated:
			p.Problems = append(p.Problems, s.Name+" outdated")
		}
	}
	if origin == Cluster && !carried && len(p.Requested) > 0 {
		p.Warnings = append(p.Warnings, "the pod carries no "+inject.StatusKey+": Tandem never admitted it "+
			"(its namespace is not routed to the webhook, the webhook was down with failurePolicy Ignore, or the pod is older than Tandem), "+
			"so it has none of the sidecars it asks for; the decisions are those Tandem would make if it were created now")
		for _, name := range p.Requested {
			p.Problems = append(p.Problems, name+" not carried (no "+inject.StatusKey+")")
		}
	}
	if carried {
		for _, name := range p.Requested {
			if decided(p.Sidecars, name) {
				continue
			}
			p.Problems = append(p.Problems, name+" not recorded in "+inject.StatusKey)
			if p.Reason != inject.ReasonForeignStatus {
				p.Warnings = append(p.Warnings, fmt.Sprintf("sidecar %q is asked for, but %s does not record it: the pod was admitted before it was asked for; recreate the pod to get it", name, inject.StatusKey))
			}
		}
	}
	p.OK = len(p.Problems) == 0
	return p
}

// Excluded explains a pod of a namespace the webhook configuration leaves out: what it
// asks for, from the engine's explanation x, and that it gets none of it.
func Excluded(obj Object, x inject.Explanation, why string) Pod {
	p := Pod{
		Kind: obj.Kind, Namespace: obj.Namespace, Name: obj.Name,
		Requested: nonNil(x.Requested), RequestedBy: x.Source, OptedOut: x.OptedOut,
		Sidecars: []Sidecar{}, Knobs: []Knob{}, Warnings: []string{}, Problems: []string{},
		// The outcome says why; the command warns on stderr, as inject does.
		Reason: inject.ReasonExcludedNamespace, Message: why,
	}
	if !x.OptedOut {
		for _, name := range p.Requested {
			p.Problems = append(p.Problems, fmt.Sprintf("%s not injected (%s)", name, inject.ReasonExcludedNamespace))
		}
	}
	p.OK = len(p.Problems) == 0
	return p
}

// OK tells whether every pod gets every sidecar it asks for.
func OK(pods []Pod) bool {
	for _, p := range pods {
		if !p.OK {
			return false
		}
	}
	return true
}

func denies(sidecars []Sidecar) bool {
	for _, s := range sidecars {
		if s.Decision == inject.DecisionDenied {
			return true
		}
	}
	return false
}

func decided(sidecars []Sidecar, name string) bool {
	for _, s := range sidecars {
		if s.Name == name {
			return true
		}
	}
	return false
}

// nonNil makes empty lists come out as [] rather than null, so that scripts can iterate
// without a check.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
