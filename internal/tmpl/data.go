package tmpl

import (
	"strings"
	"text/template"
)

// Data is what a template sees: {{ .Pod.Name }}, {{ .Values.cpu }} and so on.
type Data struct {
	Pod       Pod
	Namespace Namespace
	// Values are the sidecar's knobs: its configured values, overridden by the pod's
	// tandem.io/<sidecar>.<knob> annotations where the config allows it.
	Values map[string]string
	// Sidecar is the name of the sidecar being rendered.
	Sidecar string
}

// Pod is the part of a pod that templates may read: its metadata. The engine does not
// decode the rest of the pod, which is what keeps admission cheap on large pods.
type Pod struct {
	Name         string
	GenerateName string
	Namespace    string
	Labels       map[string]string
	Annotations  map[string]string
}

// Annotation returns the pod's annotation key, or def when the pod does not set it.
func (p Pod) Annotation(key, def string) string { return lookup(p.Annotations, key, def) }

// Label returns the pod's label key, or def when the pod does not set it.
func (p Pod) Label(key, def string) string { return lookup(p.Labels, key, def) }

// Namespace is the namespace the pod is created in.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// Label returns the namespace's label key, or def when it is not set (or not known).
func (n Namespace) Label(key, def string) string { return lookup(n.Labels, key, def) }

func lookup(m map[string]string, key, def string) string {
	if v, ok := m[key]; ok {
		return v
	}
	return def
}

// funcs are the documented template functions (docs/configuration.md, "Templates").
var funcs = template.FuncMap{
	// default returns def when value is empty: {{ .Pod.Name | default "unnamed" }}.
	"default": func(def, value string) string {
		if value == "" {
			return def
		}
		return value
	},
	"lower":      strings.ToLower,
	"upper":      strings.ToUpper,
	"trim":       strings.TrimSpace,
	"trimPrefix": func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
	"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
	"replace":    func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
}

// IsTemplate reports whether s holds template actions; other strings are copied as they are.
func IsTemplate(s string) bool { return strings.Contains(s, "{{") }

// Parse parses one template string. name appears in error messages: pass the field path.
func Parse(name, text string) (*template.Template, error) {
	return template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
}
