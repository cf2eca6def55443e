package inject

import (
	"slices"
	"strings"
)

// The keys of Tandem's contract with pods and namespaces (docs/annotations.md).
const (
	// InjectKey is the pod label that opts out ("false"), the pod annotation that names
	// the sidecars, and the namespace label that names the namespace's defaults.
	InjectKey = "tandem.io/inject"
	// StatusKey is the pod annotation that records what was injected.
	StatusKey = "tandem.io/status"
	// knobPrefix starts the annotations that override a knob: tandem.io/<sidecar>.<knob>.
	knobPrefix = "tandem.io/"
)

// selection is what a pod asked for and who asked.
type selection struct {
	names  []string
	source string // for messages: which label or annotation named them
}

// selectSidecars applies the precedence of the contract: the opt-out label, then the
// pod annotation, then the namespace label. It is the one place that decides selection.
func selectSidecars(pod *podView, ns Namespace) (sel selection, optedOut bool) {
	if pod.labels()[InjectKey] == "false" {
		return selection{}, true
	}
	if v, ok := pod.annotations()[InjectKey]; ok {
		return selection{names: parseList(v), source: "the pod annotation " + InjectKey}, false
	}
	if v, ok := ns.Labels[InjectKey]; ok {
		return selection{names: parseList(v), source: "the label " + InjectKey + " of namespace " + ns.Name}, false
	}
	return selection{}, false
}

// parseList splits "proxy,logs" (annotations) or "proxy.logs" (label values, which cannot
// hold commas) into names, dropping blanks and repeats; "false" and "" mean none.
func parseList(v string) []string {
	var names []string
	for _, n := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '.' || r == ' ' }) {
		if n != "false" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}
