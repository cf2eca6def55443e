package manifest

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// templatePaths says where each workload kind keeps the pod it makes; a Pod is its own.
var templatePaths = map[string][]string{
	"Pod":                   {},
	"Deployment":            {"spec", "template"},
	"StatefulSet":           {"spec", "template"},
	"DaemonSet":             {"spec", "template"},
	"ReplicaSet":            {"spec", "template"},
	"ReplicationController": {"spec", "template"},
	"Job":                   {"spec", "template"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template"},
}

// genericTemplatePath is where objects of other kinds are looked at for a pod template.
var genericTemplatePath = []string{"spec", "template"}

// PodFunc changes one pod (or pod template) given as JSON and returns the new JSON.
// namespace is the object's namespace ("" when the manifest does not say).
type PodFunc func(pod []byte, namespace string) ([]byte, error)

// WarnFunc receives a warning about something Transform handled without failing. The
// message names the document and the object the way Transform's errors do.
type WarnFunc func(message string)

// Transform calls fn on the pod of every workload in docs, List items included, and
// puts the result back in place. An object of a kind it does not know counts as a
// workload when its spec.template holds a pod spec with containers; other objects are
// left as they are. An error names the document and the object. Warnings are dropped;
// see TransformWarn.
func Transform(docs []Document, fn PodFunc) error {
	return TransformWarn(docs, fn, nil)
}

// TransformWarn is Transform, reporting to warn (which may be nil) what it did that the
// user would not expect: an object of a kind it does not know injected through its
// spec.template, and a null List item left out of the output.
func TransformWarn(docs []Document, fn PodFunc, warn WarnFunc) error {
	if warn == nil {
		warn = func(string) {}
	}
	for _, d := range docs {
		docWarn := func(msg string) {
			warn(fmt.Sprintf("document %d (%s): %s", d.Number, describe(d.Object), msg))
		}
		if err := transformObject(d.Object, fn, docWarn); err != nil {
			return fmt.Errorf("document %d (%s): %w", d.Number, describe(d.Object), err)
		}
	}
	return nil
}

func transformObject(obj map[string]any, fn PodFunc, warn WarnFunc) error {
	kind, _ := obj["kind"].(string)
	if kind == "" {
		return fmt.Errorf("the object has no kind")
	}
	if kind == "List" || (len(kind) > 4 && kind[len(kind)-4:] == "List" && obj["items"] != nil) {
		return transformList(obj, fn, warn)
	}
	path, known := templatePaths[kind]
	if !known {
		// Custom workloads (OpenShift DeploymentConfig, Argo Rollout) follow Deployment's
		// layout, and their controllers copy spec.template into the pods they make;
		// requiring containers keeps a spec.template that merely shares the name (a
		// template of something else) out of the engine's hands.
		if !hasPodTemplate(obj) {
			return nil
		}
		path = genericTemplatePath
	}
	parent, key, err := locate(obj, path)
	if err != nil {
		return err
	}
	var pod any = obj
	if parent != nil {
		pod = parent[key]
	}
	raw, err := json.Marshal(pod)
	if err != nil {
		return err
	}
	out, err := fn(raw, namespaceOf(obj))
	if err != nil {
		return err
	}
	injected, err := decodeObject(out)
	if err != nil {
		return err
	}
	if parent == nil {
		clear(obj)
		for k, v := range injected {
			obj[k] = v
		}
		return nil
	}
	// Only a template that changed is worth a warning: a manifest full of custom
	// workloads that ask for nothing would otherwise bury the warnings that matter.
	if !known && !reflect.DeepEqual(pod, any(injected)) {
		warn(fmt.Sprintf("not a kind Tandem knows; injected its %s as a pod template", joinPath(path)))
	}
	parent[key] = injected
	return nil
}

// transformList transforms each item of a List. A null item (what a template engine
// leaves behind for an empty conditional) is dropped rather than kept: kubectl refuses a
// List holding null (apply's validation says "invalid object to validate", its decoder
// "Object 'Kind' is missing"), so keeping it would make the output useless to
// kubectl apply -f.
func transformList(obj map[string]any, fn PodFunc, warn WarnFunc) error {
	items, _ := obj["items"].([]any)
	kept := make([]any, 0, len(items))
	for i, it := range items {
		if it == nil {
			warn(fmt.Sprintf("items[%d] is null; left it out of the output", i))
			continue
		}
		item, ok := it.(map[string]any)
		if !ok {
			return fmt.Errorf("items[%d] is not a Kubernetes object", i)
		}
		itemWarn := func(msg string) {
			warn(fmt.Sprintf("items[%d] (%s): %s", i, describe(item), msg))
		}
		if err := transformObject(item, fn, itemWarn); err != nil {
			return fmt.Errorf("items[%d] (%s): %w", i, describe(item), err)
		}
		kept = append(kept, item)
	}
	if len(kept) != len(items) {
		obj["items"] = kept
	}
	return nil
}

// hasPodTemplate tells whether obj keeps a pod template where Deployment does.
func hasPodTemplate(obj map[string]any) bool {
	spec, _ := obj["spec"].(map[string]any)
	template, _ := spec["template"].(map[string]any)
	podSpec, _ := template["spec"].(map[string]any)
	_, ok := podSpec["containers"].([]any)
	return ok
}

// locate walks path from obj and returns the map holding the last step.
func locate(obj map[string]any, path []string) (map[string]any, string, error) {
	if len(path) == 0 {
		return nil, "", nil
	}
	cur := obj
	for i, step := range path[:len(path)-1] {
		next, ok := cur[step].(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("it has no %s", joinPath(path[:i+1]))
		}
		cur = next
	}
	last := path[len(path)-1]
	if _, ok := cur[last].(map[string]any); !ok {
		return nil, "", fmt.Errorf("it has no %s", joinPath(path))
	}
	return cur, last, nil
}

func joinPath(p []string) string {
	s := ""
	for i, step := range p {
		if i > 0 {
			s += "."
		}
		s += step
	}
	return s
}

func namespaceOf(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	return ns
}

// describe names an object as kubectl does: "Deployment default/web".
func describe(obj map[string]any) string {
	kind, _ := obj["kind"].(string)
	if kind == "" {
		kind = "object without kind"
	}
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		name, _ = meta["generateName"].(string)
	}
	if ns, _ := meta["namespace"].(string); ns != "" {
		name = ns + "/" + name
	}
	if name == "" {
		return kind
	}
	return kind + " " + name
}
