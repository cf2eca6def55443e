package inject

import (
	"slices"

	"github.com/tandem-io/tandem/internal/config"
)

// Explanation is everything the engine can say about one pod or pod template: what was
// asked for and by whom, the knobs each sidecar would get, and the decision Inject makes
// now, per sidecar. It is what `tandem explain` prints.
type Explanation struct {
	// Result is Inject's result for the pod as it is. For a pod admitted before, it is
	// AlreadyInjected or Outdated, with a decision per sidecar its status records.
	Result Result
	// Denial is the error Inject returns, if the pod would be refused.
	Denial *Error
	// Requested names the sidecars asked for, as written (repeats dropped); Source says
	// who asked (empty when nothing asked).
	Requested []string
	Source    string
	// OptedOut is true for a pod labelled tandem.io/inject=false.
	OptedOut bool
	// Knobs are the knob values of each requested sidecar the configuration defines.
	Knobs []Knob
}

// Knob is one knob's value for one pod, and where it comes from.
type Knob struct {
	Sidecar, Name, Value string
	// From is "config", or the pod annotation that overrides it.
	From string
}

// Explain runs the engine on raw as Inject does, and says why. Like Inject it reads
// nothing but its arguments.
func Explain(raw []byte, ns Namespace, cfg *config.Config, opts Options) Explanation {
	res, err := Inject(raw, ns, cfg, opts)
	var x Explanation
	x.Result = res
	if err != nil {
		x.Denial, _ = err.(*Error)
		if x.Denial == nil {
			x.Denial = &Error{Reason: ReasonInvalidPod, Message: err.Error()}
		}
	}
	pod, derr := decodePod(raw)
	if derr != nil {
		return x
	}
	if ns.Name == "" && pod.Metadata != nil {
		ns.Name = pod.Metadata.Namespace
	}
	sel, optedOut := selectSidecars(pod, ns)
	x.OptedOut, x.Requested, x.Source = optedOut, sel.names, sel.source
	annotations := pod.annotations()
	for _, name := range sel.names {
		sc := cfg.Sidecar(name)
		if sc == nil {
			continue
		}
		for _, knob := range sortedKeys(sc.Values) {
			k := Knob{Sidecar: name, Name: knob, Value: sc.Values[knob], From: "config"}
			key := KnobKey(name, knob)
			if v, ok := annotations[key]; ok {
				k.Value, k.From = v, "annotation "+key
			}
			x.Knobs = append(x.Knobs, k)
		}
	}
	return x
}

// Audit is what a running pod's metadata says about its sidecars: which of those it asked
// for it lacks, and which it carries from a definition that has changed since. Audit
// needs no spec: labels, annotations and the namespace's labels are enough, so that a
// cluster's pods can be checked from their metadata alone.
type Audit struct {
	// Requested names the sidecars asked for that the configuration defines.
	Requested []string
	// Missing names requested sidecars the pod neither carries nor was refused for a
	// reason its status records (the webhook was down, the pod predates Tandem).
	Missing []string
	// Outdated names sidecars the pod carries from an older definition, or that have
	// left the configuration.
	Outdated []string
}

// AuditPod audits one pod from its labels and annotations. Names the configuration does
// not define are left out: Tandem would have refused the pod, and can give it nothing.
func AuditPod(labels, annotations map[string]string, ns Namespace, cfg *config.Config) Audit {
	pod := &podView{Metadata: &metaView{Labels: labels, Annotations: annotations}}
	sel, optedOut := selectSidecars(pod, ns)
	var a Audit
	if optedOut {
		return a
	}
	for _, name := range sel.names {
		if cfg.Sidecar(name) != nil {
			a.Requested = append(a.Requested, name)
		}
	}
	v, ok := annotations[StatusKey]
	st, err := ParseStatus(v)
	if !ok || err != nil {
		a.Missing = a.Requested
		return a
	}
	for _, s := range st.Sidecars {
		if sc := cfg.Sidecar(s.Name); sc == nil || !s.Current(sc) {
			a.Outdated = append(a.Outdated, s.Name)
		}
	}
	for _, name := range a.Requested {
		carried := slices.ContainsFunc(st.Sidecars, func(in StatusSidecar) bool { return in.Name == name })
		skipped := slices.ContainsFunc(st.Skipped, func(s StatusSkipped) bool { return s.Name == name })
		if !carried && !skipped {
			a.Missing = append(a.Missing, name)
		}
	}
	return a
}
