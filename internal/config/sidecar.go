package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
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
	return l.compile(path, &spec, generic, rendered.(map[string]any)), name
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
// Validation has checked what compile relies on; anything it still finds wrong is
// reported like any other problem (nil comes back), never a panic: a reload runs in a
// goroutine that nothing recovers, and must keep the last good config serving.
func (l *loader) compile(path string, spec *SidecarSpec, generic, rendered map[string]any) *Sidecar {
	before := len(l.errs)
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
		sc.HostNetwork = HostNetworkAuto
	}
	for _, c := range append(slices.Clone(spec.Containers), spec.InitContainers...) {
		sc.DeclaresPorts = sc.DeclaresPorts || len(c.Ports) > 0
	}
	if spec.Namespaces != nil {
		sel, err := metav1.LabelSelectorAsSelector(spec.Namespaces)
		if err != nil {
			l.add(path, spec.Name, "namespaces", err.Error())
		}
		sc.Namespaces = sel
	}
	for knob, pattern := range spec.Overridable {
		re, err := regexp.Compile(anchor(pattern))
		if err != nil {
			l.add(path, spec.Name, JoinField("overridable", knob), "not a regular expression: "+err.Error())
			continue
		}
		sc.Overridable[knob] = re
	}
	for i := range Fields {
		sc.Parts[i] = l.fieldParts(path, spec.Name, &Fields[i], generic[Fields[i].Key], rendered[Fields[i].Key])
	}
	if len(l.errs) > before {
		return nil
	}
	for i, c := range spec.Containers {
		for _, port := range c.Ports {
			sc.Parts[FieldContainers][i].Ports = append(sc.Parts[FieldContainers][i].Ports, Port{Number: port.ContainerPort, Protocol: protocolOrTCP(port.Protocol)})
		}
	}
	canonical, _ := json.Marshal(generic) // map keys sorted: the same definition, the same hash
	sum := sha256.Sum256(canonical)
	sc.LegacyHash = hex.EncodeToString(sum[:6])
	sc.record()
	return sc
}

// part compiles one part of the sidecar at path; field is its path in the sidecar.
func (l *loader) part(path, sidecar, field, name string, v any) (Part, bool) {
	js, err := json.Marshal(v)
	if err == nil {
		var j *tmpl.JSON
		if j, err = tmpl.Compile(path+"."+field, js); err == nil {
			return Part{Name: name, JSON: j, Source: v}, true
		}
	}
	l.add(path, sidecar, field, "template does not compile: "+templateError(err))
	return Part{}, false
}

// fieldParts compiles the parts of one field: v as the file wrote it, sample as it was
// rendered at load (what the typed sidecar was decoded from). Names come from sample:
// validation made them static, but for NameOnly items, whose names are rendered once.
func (l *loader) fieldParts(path, sidecar string, f *Field, v, sample any) []Part {
	if f.Placement == InMetadata {
		m := stringMap(v)
		parts := make([]Part, 0, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) { // sorted, so that output is stable
			if p, ok := l.part(path, sidecar, f.Key+"["+k+"]", k, m[k]); ok {
				parts = append(parts, p)
			}
		}
		return parts
	}
	raw, _ := v.([]any)
	items, _ := sample.([]any)
	parts := make([]Part, 0, len(items))
	for i, item := range items {
		field := fmt.Sprintf("%s[%d]", f.Key, i)
		m, _ := item.(map[string]any)
		name, ok := m[f.NameKey].(string)
		if !ok || i >= len(raw) {
			l.add(path, sidecar, field, "not found in the file as written")
			continue
		}
		source := raw[i]
		if f.NameOnly {
			source = map[string]any{f.NameKey: name}
		}
		if p, ok := l.part(path, sidecar, field, name, source); ok {
			if f.NameOnly {
				p.Source = name
			}
			parts = append(parts, p)
		}
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
