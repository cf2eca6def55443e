package rollout

import (
	"encoding/json"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// recreated runs admission, as the webhook would now, on the pod as its owner would
// create it again: the pod without what Tandem put into it. It returns the denial, or ""
// when the new pod would be admitted. A restart whose new pods are refused would leave
// the owner with fewer pods than it wants (a sidecar gone from the configuration that the
// pods still ask for, a knob override that no longer matches its pattern).
func recreated(pod *corev1.Pod, ns inject.Namespace, cfg *config.Config, cl Cluster) string {
	bare := pod.DeepCopy()
	injected := injectedNames(pod, cfg)
	keep := func(c corev1.Container) bool { return !slices.Contains(injected[config.RecordContainer], c.Name) }
	bare.Spec.Containers = slices.DeleteFunc(bare.Spec.Containers, func(c corev1.Container) bool { return !keep(c) })
	bare.Spec.InitContainers = slices.DeleteFunc(bare.Spec.InitContainers, func(c corev1.Container) bool { return !keep(c) })
	bare.Spec.Volumes = slices.DeleteFunc(bare.Spec.Volumes, func(v corev1.Volume) bool {
		return slices.Contains(injected[config.RecordVolume], v.Name)
	})
	delete(bare.Annotations, inject.StatusKey)
	bare.Status = corev1.PodStatus{}
	raw, err := json.Marshal(bare)
	if err != nil {
		return err.Error()
	}
	if _, err := inject.Inject(raw, ns, cfg, inject.Options{NativeSidecars: cl.NativeSidecars}); err != nil {
		return err.Error()
	}
	return ""
}

// injectedNames lists, by kind, the containers (init containers among them) and volumes
// the pod's status annotation says Tandem put in: the recorded parts, and for entries
// written before parts were recorded, the current definition's.
func injectedNames(pod *corev1.Pod, cfg *config.Config) map[string][]string {
	names := map[string][]string{}
	st, err := inject.ParseStatus(pod.Annotations[inject.StatusKey])
	if err != nil {
		return names
	}
	add := func(kind, name string) {
		switch kind {
		case config.RecordContainer, config.RecordInitContainer:
			names[config.RecordContainer] = append(names[config.RecordContainer], name)
		case config.RecordVolume:
			names[config.RecordVolume] = append(names[config.RecordVolume], name)
		}
	}
	for _, e := range st.Sidecars {
		for key := range e.Parts {
			add(config.SplitRecordKey(key))
		}
		if sc := cfg.Sidecar(e.Name); e.Parts == nil && sc != nil {
			for _, p := range sc.Record {
				add(config.SplitRecordKey(p.Key))
			}
		}
	}
	return names
}
