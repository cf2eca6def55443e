package inject

import (
	"slices"
	"strings"

	"github.com/tandem-io/tandem/internal/config"
)

// The keys of Tandem's contract with pods and namespaces (docs/annotations.md).
const (
	// InjectKey is the pod label that opts out ("false"), the pod annotation that names
	// the sidecars, and the namespace label that names the namespace's defaults.
	InjectKey = config.KeyPrefix + "inject"
	// StatusKey is the pod annotation that records what was injected.
	StatusKey = config.KeyPrefix + "status"
	// OptOut is the value of the InjectKey pod label that keeps Tandem away.
	OptOut = "false"
)

// KnobKey is the pod annotation that overrides a knob: tandem.io/<sidecar>.<knob>.
func KnobKey(sidecar, knob string) string { return config.KeyPrefix + sidecar + "." + knob }

// selection is what a pod asked for and who asked.
type selection struct {
	names  []string
	source string // for messages: which label or annotation named them
}

// selectSidecars applies the precedence of the contract: the opt-out label, then the
// pod annotation, then the namespace label. It is the one place that decides selection.
func selectSidecars(pod *podView, ns Namespace) (sel selection, optedOut bool) {
	if pod.labels()[InjectKey] == OptOut {
		return selection{}, true
	}
	if v, ok := pod.annotations()[InjectKey]; ok {
		return selection{names: ParseList(v), source: SourcePodAnnotation}, false
	}
	if v, ok := ns.Labels[InjectKey]; ok {
		return selection{names: ParseList(v), source: SourceNamespaceLabel(ns.Name)}, false
	}
	return selection{}, false
}

// ListSeparators separate the names in a tandem.io/inject value: commas in annotations,
// dots in label values (which cannot hold commas), and spaces.
const ListSeparators = ",. "

// ParseList splits "proxy,logs" (annotations) or "proxy.logs" (label values) into names,
// dropping blanks and repeats; OptOut and "" mean none. It is the one reading of the
// tandem.io/inject value: the compiled policy's CEL is built from ListSeparators, and
// what the chart's templates repeat is held to this.
func ParseList(v string) []string {
	var names []string
	for _, n := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(ListSeparators, r) }) {
		if n != OptOut && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}
