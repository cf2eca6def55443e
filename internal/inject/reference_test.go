package inject

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"
	kjson "sigs.k8s.io/json"

	"github.com/tandem-io/tandem/internal/config"
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

// applyPlanTyped applies the additions to the typed pod, field by field: each field's
// items decoded into the pod's Go field of the same JSON name.
func applyPlanTyped(pod *corev1.Pod, p *plan) error {
	a := &p.adds
	original := len(pod.Spec.Containers)
	for i := range config.Fields {
		f := &config.Fields[i]
		var err error
		switch f.Placement {
		case config.InMetadata:
			err = addTypedEntries(jsonField(reflect.ValueOf(&pod.ObjectMeta).Elem(), f.Key), a[i].items)
		case config.InPod:
			err = addTypedItems(jsonField(reflect.ValueOf(&pod.Spec).Elem(), f.Key), a[i].items, f.Front)
		case config.InEachContainer:
			for c := range original {
				if err == nil {
					err = addTypedItems(jsonField(reflect.ValueOf(&pod.Spec.Containers[c]).Elem(), f.Key), a[i].each[c], false)
				}
			}
		}
		if err != nil {
			return err
		}
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	sidecars := []StatusSidecar{} // [] when none, as the engine writes
	for _, in := range p.status {
		sidecars = append(sidecars, EntryOf(in.sidecar)) // its record, part by part
	}
	st, err := json.Marshal(Status{Sidecars: sidecars, Skipped: p.skipped}) // encoding/json, not the engine's writer
	pod.Annotations[StatusKey] = string(st)
	return err
}

// jsonField is the field of struct v that encodes as key.
func jsonField(v reflect.Value, key string) reflect.Value {
	for i := range v.NumField() {
		if name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ","); name == key {
			return v.Field(i)
		}
	}
	panic("no field " + key + " in " + v.Type().String())
}

// addTypedItems decodes items into new elements of the list, after its own or before.
func addTypedItems(list reflect.Value, items []rendered, front bool) error {
	added := reflect.MakeSlice(list.Type(), len(items), len(items))
	for i, r := range items {
		if err := json.Unmarshal(r.json, added.Index(i).Addr().Interface()); err != nil {
			return err
		}
		if c, ok := added.Index(i).Addr().Interface().(*corev1.Container); ok && r.native {
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		}
	}
	if front {
		list.Set(reflect.AppendSlice(added, list))
	} else {
		list.Set(reflect.AppendSlice(list, added))
	}
	return nil
}

// addTypedEntries decodes items into entries of the map.
func addTypedEntries(m reflect.Value, items []rendered) error {
	if m.IsNil() && len(items) > 0 {
		m.Set(reflect.MakeMap(m.Type()))
	}
	for _, r := range items {
		var v string
		if err := json.Unmarshal(r.json, &v); err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(r.name), reflect.ValueOf(v))
	}
	return nil
}
