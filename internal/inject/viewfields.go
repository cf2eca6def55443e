package inject

import (
	"slices"

	"github.com/tandem-io/tandem/internal/config"
)

// The lists and maps of the pod that sidecars add to (config.Fields), as the view reads
// them: the names of their items, which a sidecar's parts are compared with.

// count is how many items the pod has in the list of config.Fields[i].
func (s *specView) count(i int) int {
	switch i {
	case config.FieldContainers:
		return len(s.Containers)
	case config.FieldInitContainers:
		return len(s.InitContainers)
	}
	return len(s.Names[i])
}

// listField is a list whose item names the view reads, for the field at in config.Fields.
// Errors name it by field and suffix ("spec.volumes", "[].name"), spelled out once here
// so that reading a pod builds no strings.
type listField struct {
	key, nameKey  string
	field, suffix string
	at            int
}

// The lists the view reads names from: the pod's (but its containers, read whole), and
// each container's.
var (
	podLists           = listFields(config.InPod, "spec.")
	containerLists     = listFields(config.InEachContainer, "spec.containers[].")
	initContainerLists = listFields(config.InEachContainer, "spec.initContainers[].")
)

func listFields(place config.Placement, parent string) []listField {
	var out []listField
	for i, f := range config.Fields {
		if f.Placement == place && i != config.FieldContainers && i != config.FieldInitContainers {
			out = append(out, listField{key: f.Key, nameKey: f.NameKey, field: parent + f.Key, suffix: "[]." + f.NameKey, at: i})
		}
	}
	return out
}

// findList is the list of lists called key, or nil.
func findList(lists []listField, key []byte) *listField {
	for i := range lists {
		if lists[i].key == string(key) {
			return &lists[i]
		}
	}
	return nil
}

// emptiedNames empties each list of names, keeping its memory.
func emptiedNames(names [len(config.Fields)][]string) [len(config.Fields)][]string {
	for i := range names {
		names[i] = names[i][:0]
	}
	return names
}

// has says whether the pod has an item called name in the list or map of f, the field at
// i of config.Fields (not its containers: their names clash).
func (v *podView) has(f *config.Field, i int, name string) bool {
	if f.Placement == config.InMetadata {
		_, ok := v.metadata(f)[name]
		return ok
	}
	return slices.Contains(v.Spec.Names[i], name)
}

// metadata is the pod's map for a field placed in its metadata: ObjectMeta has two maps
// of strings, which the engine reads anyway (selection, knobs, templates).
func (v *podView) metadata(f *config.Field) map[string]string {
	switch f.Key {
	case "labels":
		return v.labels()
	case "annotations":
		return v.annotations()
	}
	return nil
}

func (v *podView) labels() map[string]string {
	if v.Metadata == nil {
		return nil
	}
	return v.Metadata.Labels
}

func (v *podView) annotations() map[string]string {
	if v.Metadata == nil {
		return nil
	}
	return v.Metadata.Annotations
}
