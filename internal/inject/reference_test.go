package inject

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	kjson "sigs.k8s.io/json"
)

// checkPatch proves a patch right independently of the patch builder: it applies the plan
// to a typed corev1.Pod the obvious way and compares the result with the patch applied
// to the raw pod by a JSON Patch library.
func checkPatch(raw, patch []byte, p *plan) error {
	patched, err := Apply(raw, patch)
	if err != nil {
		return fmt.Errorf("the patch does not apply: %w\npatch: %s", err, patch)
	}
	// Decoded as the API server decodes them, member names matching case-sensitively:
	// encoding/json would take "Containers" for "containers", which the API server and
	// the engine leave alone as an unknown field.
	var got, want corev1.Pod
	if err := kjson.UnmarshalCaseSensitivePreserveInts(patched, &got); err != nil {
		return fmt.Errorf("the patched pod does not decode: %w", err)
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, &want); err != nil {
		return err
	}
	if err := applyPlanTyped(&want, p); err != nil {
		return err
	}
	if !equality.Semantic.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		return fmt.Errorf("patch result differs from the typed application\npatched: %s\ntyped:   %s\npatch: %s", g, w, patch)
	}
	return nil
}

func applyPlanTyped(pod *corev1.Pod, p *plan) error {
	a := &p.adds
	var err error
	decode := func(js []byte, v any) {
		if err == nil {
			err = json.Unmarshal(js, v)
		}
	}
	for _, kv := range a.labels {
		if pod.Labels == nil {
			pod.Labels = map[string]string{}
		}
		var v string
		decode(kv.value, &v)
		pod.Labels[kv.key] = v
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	for _, kv := range a.annotations {
		var v string
		decode(kv.value, &v)
		pod.Annotations[kv.key] = v
	}
	sidecars := []StatusSidecar{} // [] when none, as the engine writes
	for _, in := range p.status {
		sidecars = append(sidecars, EntryOf(in.sidecar)) // its record, part by part
	}
	st, mErr := json.Marshal(Status{Sidecars: sidecars, Skipped: p.skipped}) // encoding/json, not the engine's writer
	if mErr != nil {
		return mErr
	}
	pod.Annotations[StatusKey] = string(st)
	var inits []corev1.Container
	for _, r := range a.initContainers {
		var c corev1.Container
		decode(r.json, &c)
		if r.native {
			always := corev1.ContainerRestartPolicyAlways
			c.RestartPolicy = &always
		}
		inits = append(inits, c)
	}
	pod.Spec.InitContainers = append(inits, pod.Spec.InitContainers...)
	for _, r := range a.containers {
		var c corev1.Container
		decode(r.json, &c)
		pod.Spec.Containers = append(pod.Spec.Containers, c)
	}
	for _, r := range a.volumes {
		var v corev1.Volume
		decode(r.json, &v)
		pod.Spec.Volumes = append(pod.Spec.Volumes, v)
	}
	for _, s := range a.pullSecrets {
		pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	original := len(p.pod.Spec.Containers)
	for i := 0; i < original; i++ {
		for _, r := range a.env[i] {
			var e corev1.EnvVar
			decode(r.json, &e)
			pod.Spec.Containers[i].Env = append(pod.Spec.Containers[i].Env, e)
		}
		for _, r := range a.mounts[i] {
			var m corev1.VolumeMount
			decode(r.json, &m)
			pod.Spec.Containers[i].VolumeMounts = append(pod.Spec.Containers[i].VolumeMounts, m)
		}
	}
	return err
}
