package manifest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// workload is a kind Tandem knows: the API groups that serve it, and where it keeps the
// pod it makes (a Pod is its own).
type workload struct {
	groups []string
	path   []string
}

// workloads are matched by group and kind, not kind alone: OpenKruise's
// apps.kruise.io StatefulSet is not apps' StatefulSet, and a Pod of apps/v1 is no pod at
// all. extensions is the group Deployments, DaemonSets and ReplicaSets had before apps.
var workloads = map[string]workload{
	"Pod":                   {groups: []string{""}},
	"ReplicationController": {groups: []string{""}, path: []string{"spec", "template"}},
	"Deployment":            {groups: []string{"apps", "extensions"}, path: []string{"spec", "template"}},
	"DaemonSet":             {groups: []string{"apps", "extensions"}, path: []string{"spec", "template"}},
	"ReplicaSet":            {groups: []string{"apps", "extensions"}, path: []string{"spec", "template"}},
	"StatefulSet":           {groups: []string{"apps"}, path: []string{"spec", "template"}},
	"Job":                   {groups: []string{"batch"}, path: []string{"spec", "template"}},
	"CronJob":               {groups: []string{"batch"}, path: []string{"spec", "jobTemplate", "spec", "template"}},
}

// genericTemplatePath is where objects of other kinds are looked at for a pod template.
var genericTemplatePath = []string{"spec", "template"}

// Object names the object a pod belongs to: the Pod itself, or the workload whose pod
// template it is. Namespace is "" when the manifest does not say. Where names it as
// Transform's errors and warnings do: "document 2 (List): items[0] (Deployment shop/web)".
type Object struct {
	APIVersion, Kind, Namespace, Name string
	Where                             string
}

// PodFunc changes one pod (or pod template) given as JSON and returns the new JSON.
// namespace is the object's namespace ("" when the manifest does not say).
type PodFunc func(pod []byte, namespace string) ([]byte, error)

// ObjectFunc is a PodFunc that is also told which object the pod belongs to.
type ObjectFunc func(obj Object, pod []byte) ([]byte, error)

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
// spec.template, an object with the name of a kind it knows but another API group left
// alone, and a null List item left out of the output.
func TransformWarn(docs []Document, fn PodFunc, warn WarnFunc) error {
	return TransformObjects(docs, func(obj Object, pod []byte) ([]byte, error) { return fn(pod, obj.Namespace) }, warn)
}

// TransformObjects is TransformWarn for a function that needs to know whose pod it is
// given.
func TransformObjects(docs []Document, fn ObjectFunc, warn WarnFunc) error {
	if warn == nil {
		warn = func(string) {}
	}
	for _, d := range docs {
		where := fmt.Sprintf("document %d (%s)", d.Number, describe(d.Object))
		docWarn := func(msg string) { warn(where + ": " + msg) }
		if err := transformObject(d.Object, where, fn, docWarn); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return nil
}

func transformObject(obj map[string]any, where string, fn ObjectFunc, warn WarnFunc) error {
	kind, _ := obj["kind"].(string)
	if kind == "" {
		return fmt.Errorf("the object has no kind")
	}
	if IsList(obj) {
		return transformList(obj, where, fn, warn)
	}
	apiVersion, _ := obj["apiVersion"].(string)
	w, named := workloads[kind]
	known := named && w.serves(apiVersion)
	path := w.path
	if !known {
		// Custom workloads (OpenShift DeploymentConfig, Argo Rollout, OpenKruise's
		// StatefulSet) follow Deployment's layout, and their controllers copy
		// spec.template into the pods they make; requiring containers keeps a
		// spec.template that merely shares the name (a template of something else) out
		// of the engine's hands.
		if !hasPodTemplate(obj) {
			if named {
				warn(fmt.Sprintf("not a kind Tandem knows (%s is not the API group of %s); left as it is", apiVersion, kind))
			}
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
	name := nameOf(obj)
	out, err := fn(Object{APIVersion: apiVersion, Kind: kind, Namespace: namespaceOf(obj), Name: name, Where: where}, raw)
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
func transformList(obj map[string]any, where string, fn ObjectFunc, warn WarnFunc) error {
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
		at := fmt.Sprintf("items[%d] (%s)", i, describe(item))
		itemWarn := func(msg string) { warn(at + ": " + msg) }
		if err := transformObject(item, where+": "+at, fn, itemWarn); err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
		kept = append(kept, item)
	}
	if len(kept) != len(items) {
		obj["items"] = kept
	}
	return nil
}

// IsList tells whether obj is a List whose items are objects: kind List, or a kind
// ending in List with items (a PodList, as kubectl get -o yaml writes it).
func IsList(obj map[string]any) bool {
	kind, _ := obj["kind"].(string)
	return kind == "List" || (len(kind) > 4 && strings.HasSuffix(kind, "List") && obj["items"] != nil)
}

// serves tells whether apiVersion ("group/version", or "version" for the core group)
// is of one of w's groups. A manifest without apiVersion cannot be applied as it is;
// its kind is taken at its word.
func (w workload) serves(apiVersion string) bool {
	if apiVersion == "" {
		return true
	}
	group, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		group = ""
	}
	return slices.Contains(w.groups, group)
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

// nameOf is the object's name, or its generateName when it has none yet.
func nameOf(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	if name, _ := meta["name"].(string); name != "" {
		return name
	}
	name, _ := meta["generateName"].(string)
	return name
}

// describe names an object as kubectl does: "Deployment default/web".
func describe(obj map[string]any) string {
	kind, _ := obj["kind"].(string)
	if kind == "" {
		kind = "object without kind"
	}
	meta, _ := obj["metadata"].(map[string]any)
	name := nameOf(obj)
	if ns, _ := meta["namespace"].(string); ns != "" {
		name = ns + "/" + name
	}
	if name == "" {
		return kind
	}
	return kind + " " + name
}
