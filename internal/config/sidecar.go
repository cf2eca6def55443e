package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/tmpl"
)

// sidecar decodes, validates and prepares the sidecar at path; nil when it has errors.
// The name comes back even then, so duplicates are still found.
func (l *loader) sidecar(path string, raw json.RawMessage) (*Sidecar, string) {
	before := len(l.errs)
	var generic map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil || generic == nil {
		l.add(path, "", "", "each sidecar must be a mapping with at least a name")
		return nil, ""
	}
	name, _ := generic["name"].(string)

	// Templates are rendered once with sample data so that the typed decode and the
	// validation below see what a pod would get with the configured values.
	sample := &tmpl.Data{
		Pod:       tmpl.Pod{Name: "sample", Namespace: "default", Labels: map[string]string{}, Annotations: map[string]string{}},
		Namespace: tmpl.Namespace{Name: "default", Labels: map[string]string{}},
		Values:    stringMap(generic["values"]),
		Sidecar:   name,
	}
	templated := map[string]bool{}
	rendered := l.renderSample(path, name, "", generic, sample, templated)
	js, _ := json.Marshal(rendered)
	var spec SidecarSpec
	if !l.decodeStrict(js, &spec, path, name) {
		return nil, name
	}
	for _, e := range validateSidecar(&spec, templated) {
		l.add(path, name, e.Field, e.ErrorBody())
	}
	if len(l.errs) > before {
		return nil, name
	}
	return compile(path, &spec, generic), name
}

// renderSample returns v with every template string executed with d, reporting templates
// that do not parse or run, and records which fields held templates.
func (l *loader) renderSample(path, sidecar, field string, v any, d *tmpl.Data, templated map[string]bool) any {
	switch v := v.(type) {
	case string:
		if !tmpl.IsTemplate(v) {
			return v
		}
		templated[field] = true
		t, err := tmpl.Parse(field, v)
		if err != nil {
			l.add(path, sidecar, field, "template does not parse: "+templateError(err))
			return v
		}
		var out strings.Builder
		if err := t.Execute(&out, d); err != nil {
			l.add(path, sidecar, field, "template fails with the configured values: "+templateError(err))
			return v
		}
		return out.String()
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = l.renderSample(path, sidecar, fmt.Sprintf("%s[%d]", field, i), v[i], d, templated)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = l.renderSample(path, sidecar, JoinField(field, k), e, d, templated)
		}
		return out
	}
	return v
}

// JoinField is the path of key under parent as errors name fields: containers[0].args,
// labels[example.com/team] for keys that hold a separator.
func JoinField(parent, key string) string {
	if strings.ContainsAny(key, "./[]") {
		return parent + "[" + key + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// templateError drops text/template's "template: NAME:" prefix, which repeats the field.
func templateError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "template: ") && i >= 0 {
		if j := strings.Index(msg[len("template: "):], ": "); j >= 0 {
			return msg[len("template: ")+j+2:]
		}
	}
	return msg
}

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, e := range m {
		if s, ok := e.(string); ok {
			out[k] = s
		}
	}
	return out
}

// compile prepares a validated sidecar: names, ports and JSON-with-holes for each part.
func compile(path string, spec *SidecarSpec, generic map[string]any) *Sidecar {
	sc := &Sidecar{
		Name:          spec.Name,
		Native:        spec.Native,
		FailurePolicy: spec.FailurePolicy,
		Values:        spec.Values,
		Overridable:   map[string]*regexp.Regexp{},
	}
	if sc.Native == "" {
		sc.Native = NativeAuto
	}
	if sc.FailurePolicy == "" {
		sc.FailurePolicy = FailurePolicyFail
	}
	if sc.HostNetwork = spec.HostNetwork; sc.HostNetwork == "" {
		sc.HostNetwork = HostNetworkSkip
	}
	if spec.Namespaces != nil {
		sc.Namespaces, _ = metav1.LabelSelectorAsSelector(spec.Namespaces) // validated
	}
	for knob, pattern := range spec.Overridable {
		sc.Overridable[knob] = regexp.MustCompile(anchor(pattern)) // validated
	}
	list := func(field string) []any { l, _ := generic[field].([]any); return l }
	for i, c := range spec.Containers {
		p := mustPart(fmt.Sprintf("%s.containers[%d]", path, i), c.Name, list("containers")[i])
		for _, port := range c.Ports {
			p.Ports = append(p.Ports, Port{Number: port.ContainerPort, Protocol: protocolOrTCP(port.Protocol)})
		}
		sc.Containers = append(sc.Containers, p)
	}
	for i, c := range spec.InitContainers {
		sc.InitContainers = append(sc.InitContainers, mustPart(fmt.Sprintf("%s.initContainers[%d]", path, i), c.Name, list("initContainers")[i]))
	}
	for i, v := range spec.Volumes {
		sc.Volumes = append(sc.Volumes, mustPart(fmt.Sprintf("%s.volumes[%d]", path, i), v.Name, list("volumes")[i]))
	}
	for i, e := range spec.Env {
		sc.Env = append(sc.Env, mustPart(fmt.Sprintf("%s.env[%d]", path, i), e.Name, list("env")[i]))
	}
	for i, m := range spec.VolumeMounts {
		sc.VolumeMounts = append(sc.VolumeMounts, mustPart(fmt.Sprintf("%s.volumeMounts[%d]", path, i), m.MountPath, list("volumeMounts")[i]))
	}
	sc.Labels = keyedParts(path+".labels", generic["labels"])
	sc.Annotations = keyedParts(path+".annotations", generic["annotations"])
	for _, s := range spec.ImagePullSecrets {
		sc.ImagePullSecrets = append(sc.ImagePullSecrets, s.Name)
	}
	canonical, _ := json.Marshal(generic) // map keys sorted: the same definition, the same hash
	sum := sha256.Sum256(canonical)
	sc.Hash = hex.EncodeToString(sum[:6])
	return sc
}

// mustPart compiles a part whose templates the loader has already parsed successfully.
func mustPart(path, name string, v any) Part {
	js, _ := json.Marshal(v)
	j, err := tmpl.Compile(path, js)
	if err != nil {
		panic(fmt.Sprintf("config: %s: template parsed once but not twice: %v", path, err))
	}
	return Part{Name: name, JSON: j, Source: v}
}

// keyedParts prepares a labels or annotations map, sorted by key so output is stable.
func keyedParts(path string, v any) []Part {
	m := stringMap(v)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]Part, len(keys))
	for i, k := range keys {
		parts[i] = mustPart(path+"["+k+"]", k, m[k])
	}
	return parts
}

// anchor makes an override pattern match the whole value, as users expect of "[0-9]+m".
func anchor(pattern string) string {
	if pattern == "" {
		return "^.*$"
	}
	return "^(?:" + pattern + ")$"
}
