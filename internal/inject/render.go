package inject

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/tmpl"
)

// Containers renders the containers of sc (its containers list, not its init containers)
// as the engine would inject them now into a pod with this metadata in ns: the pod's knob
// overrides apply. A rollout compares them with what a running pod carries. meta is the
// pod as admission saw it: a pod named by the API server from its generateName had no
// name yet (GeneratedName says so).
func Containers(meta tmpl.Pod, ns Namespace, sc *config.Sidecar, cfg *config.Config) ([]corev1.Container, error) {
	pod := &podView{Metadata: &metaView{Name: meta.Name, GenerateName: meta.GenerateName, Namespace: meta.Namespace,
		Labels: meta.Labels, Annotations: meta.Annotations}}
	overrides, bad := knobValues(pod, []*config.Sidecar{sc}, cfg)
	if bad != nil {
		return nil, bad
	}
	values := sc.Values
	if v, ok := overrides[sc.Name]; ok {
		values = v
	}
	d := tmpl.Data{Pod: meta, Namespace: tmpl.Namespace{Name: ns.Name, Labels: ns.Labels}, Values: values, Sidecar: sc.Name}
	out := make([]corev1.Container, len(sc.Parts[config.FieldContainers]))
	for i, part := range sc.Parts[config.FieldContainers] {
		js, err := part.JSON.Render(&d)
		if err == nil {
			err = json.Unmarshal(js, &out[i])
		}
		if err != nil {
			return nil, fmt.Errorf("rendering container %q of sidecar %q: %w", part.Name, sc.Name, err)
		}
	}
	return out, nil
}

// AdmittedMeta is what admission saw of a running pod's metadata: a pod whose name the
// API server generated (from generateName plus five characters, after admission) had no
// name when it was injected, and its status annotation was not there yet.
func AdmittedMeta(name, generateName, namespace string, labels, annotations map[string]string) tmpl.Pod {
	if generateName != "" && len(name) == len(generateName)+5 && name[:len(generateName)] == generateName {
		name = ""
	}
	if _, ok := annotations[StatusKey]; ok {
		rest := make(map[string]string, len(annotations))
		for k, v := range annotations {
			if k != StatusKey {
				rest[k] = v
			}
		}
		annotations = rest
	}
	return tmpl.Pod{Name: name, GenerateName: generateName, Namespace: namespace, Labels: labels, Annotations: annotations}
}
