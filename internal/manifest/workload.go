package manifest

import (
	"encoding/json"
	"fmt"
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

// PodFunc changes one pod (or pod template) given as JSON and returns the new JSON.
// namespace is the object's namespace ("" when the manifest does not say).
type PodFunc func(pod []byte, namespace string) ([]byte, error)

// Transform calls fn on the pod of every workload in docs, List items included, and
// puts the result back in place. Objects of other kinds are left as they are. An error
// names the document and the object.
func Transform(docs []Document, fn PodFunc) error {
	for _, d := range docs {
		if err := transformObject(d.Object, fn); err != nil {
			return fmt.Errorf("document %d (%s): %w", d.Number, describe(d.Object), err)
		}
	}
	return nil
}

func transformObject(obj map[string]any, fn PodFunc) error {
	kind, _ := obj["kind"].(string)
	if kind == "" {
		return fmt.Errorf("the object has no kind")
	}
	if kind == "List" || (len(kind) > 4 && kind[len(kind)-4:] == "List" && obj["items"] != nil) {
		items, _ := obj["items"].([]any)
		for i, it := range items {
			item, ok := it.(map[string]any)
			if !ok {
				return fmt.Errorf("items[%d] is not a Kubernetes object", i)
			}
			if err := transformObject(item, fn); err != nil {
				return fmt.Errorf("items[%d] (%s): %w", i, describe(item), err)
			}
		}
		return nil
	}
	path, ok := templatePaths[kind]
	if !ok {
		return nil
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
	parent[key] = injected
	return nil
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
