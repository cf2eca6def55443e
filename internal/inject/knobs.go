package inject

import (
	"maps"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/config"
)

// knobValues returns the values of the requested sidecars that the pod overrides, with
// the overrides applied; the others keep their config values (and most pods override
// nothing: no allocation). An override annotation is tandem.io/<sidecar>.<knob>; one the
// config does not allow, or whose value does not match the knob's pattern, denies the pod
// with the reason.
//
// The denial is an *Error, not an error: the caller needs its reason and sidecar.
func knobValues(pod *podView, sidecars []*config.Sidecar, cfg *config.Config) (map[string]map[string]string, *Error) {
	var values map[string]map[string]string
	for _, key := range knobKeys(pod.annotations()) {
		name, knob, _ := strings.Cut(strings.TrimPrefix(key, config.KeyPrefix), ".")
		sc := cfg.Sidecar(name)
		if sc == nil {
			return nil, deny(ReasonBadOverride, name, metav1.StatusReasonInvalid, KnobSidecarDenial(key, name, NameList(cfg.Names())))
		}
		if !slices.Contains(sidecars, sc) {
			continue // a knob for a sidecar this pod does not get changes nothing
		}
		pattern, ok := sc.Overridable[knob]
		if !ok {
			return nil, deny(ReasonBadOverride, name, metav1.StatusReasonInvalid, KnobNameDenial(key, name, knob, OverridableList(sc)))
		}
		value := pod.annotations()[key]
		if !pattern.MatchString(value) {
			return nil, deny(ReasonBadOverride, name, metav1.StatusReasonInvalid, KnobValueDenial(key, value, pattern.String()))
		}
		if values[name] == nil {
			if values == nil {
				values = map[string]map[string]string{}
			}
			values[name] = maps.Clone(sc.Values) // never write to the shared config
			if values[name] == nil {
				values[name] = map[string]string{}
			}
		}
		values[name][knob] = value
	}
	return values, nil
}

// knobKeys returns the annotation keys of the form tandem.io/<sidecar>.<knob>, sorted so
// that the first bad one is always the one reported. Most pods have none: no allocation.
func knobKeys(annotations map[string]string) []string {
	var keys []string
	for k := range annotations {
		if rest, ok := strings.CutPrefix(k, config.KeyPrefix); ok && strings.Contains(rest, ".") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// OverridableList names the knobs a pod may override, as KnobNameDenial says them.
func OverridableList(sc *config.Sidecar) string {
	if len(sc.Overridable) == 0 {
		return "none"
	}
	return NameList(sortedKeys(sc.Overridable))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
