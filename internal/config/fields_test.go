package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// settings are the keys of a sidecar that decide whether and how it is injected, not what
// it puts into a pod: they have no entry in Fields.
var settings = []string{"name", "description", "native", "failurePolicy", "namespaces", "hostNetwork", "values", "overridable"}

// jsonFields maps the JSON names of a struct's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			out[name] = t.Field(i).Type
		}
	}
	return out
}

// Every field of a sidecar is either a setting or something it adds to a pod, described
// in Fields: a field added to SidecarSpec without its entry fails here, before it is
// silently left out of the plan, the patch, the record or the compiled policy.
func TestEverySidecarFieldThatAddsToAPodIsInTheTable(t *testing.T) {
	inTable := map[string]bool{}
	for _, f := range Fields {
		inTable[f.Key] = true
	}
	for key := range jsonFields(reflect.TypeFor[SidecarSpec]()) {
		if inTable[key] == slices.Contains(settings, key) {
			t.Errorf("sidecar field %q must be either a setting or in config.Fields, exactly one of them", key)
		}
	}
	for key := range inTable {
		if _, ok := jsonFields(reflect.TypeFor[SidecarSpec]())[key]; !ok {
			t.Errorf("config.Fields has %q, which SidecarSpec lacks", key)
		}
	}
}

// Each entry says where its parts go; the pod must have a field of that name and of the
// sidecar's type there, and its items the member that names them.
func TestFieldsMatchThePod(t *testing.T) {
	spec := jsonFields(reflect.TypeFor[SidecarSpec]())
	places := map[Placement]reflect.Type{
		InPod:           reflect.TypeFor[corev1.PodSpec](),
		InEachContainer: reflect.TypeFor[corev1.Container](),
		InMetadata:      reflect.TypeFor[metav1.ObjectMeta](),
	}
	seen := map[string]bool{}
	for i, f := range Fields {
		for _, unique := range []string{"key " + f.Key, "ident " + f.Ident, "record " + f.Record} {
			if seen[unique] || strings.HasSuffix(unique, " ") {
				t.Errorf("field %d: %s is empty or used twice", i, unique)
			}
			seen[unique] = true
		}
		place, ok := places[f.Placement]
		if !ok {
			t.Errorf("%s: unknown placement %d", f.Key, f.Placement)
			continue
		}
		podType, ok := jsonFields(place)[f.Key]
		if !ok || podType != spec[f.Key] {
			t.Errorf("%s: the sidecar's type %v is not the pod's %v in %v", f.Key, spec[f.Key], podType, place)
			continue
		}
		if f.Placement == InMetadata {
			if podType != reflect.TypeFor[map[string]string]() || f.NameKey != "" {
				t.Errorf("%s: a metadata field is a map of strings, named by its keys", f.Key)
			}
			continue
		}
		members := jsonFields(podType.Elem())
		if members[f.NameKey] != reflect.TypeFor[string]() {
			t.Errorf("%s: its items have no string member %q to be named by", f.Key, f.NameKey)
		}
		if f.NameOnly && len(members) != 1 {
			t.Errorf("%s: NameOnly, but its items have %d members", f.Key, len(members))
		}
		if f.Native && podType.Elem() != reflect.TypeFor[corev1.Container]() {
			t.Errorf("%s: only containers become native sidecars", f.Key)
		}
	}
}

// Every field's parts are compiled and recorded under the field's kind (a container
// under three).
func TestEveryFieldIsCompiledAndRecorded(t *testing.T) {
	cfg, err := Parse([]byte(everyField), "every.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.Sidecar("all")
	for i, f := range Fields {
		if len(sc.Parts[i]) != 1 {
			t.Errorf("%s: %d parts compiled, want 1", f.Key, len(sc.Parts[i]))
			continue
		}
		key := RecordKey(f.Record, sc.Parts[i][0].Name)
		if !slices.ContainsFunc(sc.Record, func(p RecordPart) bool { return p.Key == key }) {
			t.Errorf("%s: %s is not in the record %v", f.Key, key, sc.Record)
		}
	}
}

// everyField is a sidecar that sets every field of Fields once.
const everyField = `
sidecars:
  - name: all
    initContainers: [{name: init, image: busybox}]
    containers: [{name: proxy, image: envoy, ports: [{containerPort: 15001}]}]
    volumes: [{name: certs, emptyDir: {}}]
    imagePullSecrets: [{name: regcred}]
    env: [{name: HTTP_PROXY, value: "http://127.0.0.1:15001"}]
    volumeMounts: [{name: certs, mountPath: /etc/certs}]
    labels: {mesh: "on"}
    annotations: {example.com/proxy: "{{ .Sidecar }}"}
`
