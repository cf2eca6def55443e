package policy

import (
	"strings"
	"testing"
)

func TestTemplateTranslation(t *testing.T) {
	tr := templateCEL{sidecar: "proxy", knobs: "variables.s_proxy_knobs"}
	tests := []struct{ in, want string }{
		{"plain", "'plain'"},
		{"it's", `'it\'s'`},
		{"{{ .Values.cpu }}", "string(variables.s_proxy_knobs['cpu'])"},
		{"--level={{ .Values.logLevel }}", "string('--level=' + variables.s_proxy_knobs['logLevel'])"},
		{"{{ .Pod.Name }}", "string(object.metadata.?name.orValue(''))"},
		{"{{ .Pod.GenerateName }}", "string(object.metadata.?generateName.orValue(''))"},
		{"{{ .Pod.Namespace }}", "string(object.metadata.?namespace.orValue(''))"},
		{"{{ .Namespace.Name }}", "string(request.namespace)"},
		{"{{ .Sidecar }}", "string('proxy')"},
		{`{{ .Pod.Label "app" "none" }}`, "string(('app' in variables.labels ? variables.labels['app'] : 'none'))"},
		{`{{ .Pod.Annotation "a" .Namespace.Name }}`, "string(('a' in variables.annotations ? variables.annotations['a'] : request.namespace))"},
		{`{{ .Namespace.Label "team" "x" }}`, "string(('team' in variables.nsLabels ? variables.nsLabels['team'] : 'x'))"},
		{`{{ index .Pod.Labels "app" }}`, "string(('app' in variables.labels ? variables.labels['app'] : ''))"},
		{`{{ .Pod.Name | default "anon" }}`, "string(((object.metadata.?name.orValue('')) == '' ? 'anon' : object.metadata.?name.orValue('')))"},
		{`{{ trim .Values.cpu }}`, "string((variables.s_proxy_knobs['cpu']).trim())"},
		{`{{ .Pod.GenerateName | trimSuffix "-" }}`, "string(((object.metadata.?generateName.orValue('')).endsWith('-') ? (object.metadata.?generateName.orValue('')).substring(0, size(object.metadata.?generateName.orValue('')) - size('-')) : object.metadata.?generateName.orValue('')))"},
		{`{{ replace "." "-" .Namespace.Name }}`, "string((request.namespace).replace('.', '-'))"},
		{`{{/* a comment */}}x`, "string('x')"},
	}
	for _, tc := range tests {
		got, err := tr.translate("f", tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", tc.in, got, err, tc.want)
		}
	}
}

// What has no exact CEL form is refused with a reason, never translated approximately.
func TestTemplateTranslationRefusesWhatCELCannotSayExactly(t *testing.T) {
	tr := templateCEL{sidecar: "proxy", knobs: "variables.s_proxy_knobs"}
	tests := []struct{ in, want string }{
		{"{{ .Pod.Name | upper }}", "the template function upper has no exact CEL equivalent"},
		{"{{ lower .Values.cpu }}", "the template function lower has no exact CEL equivalent"},
		{`{{ printf "%s-x" .Pod.Name }}`, "the template function printf has no CEL form here"},
		{"{{ if .Pod.Name }}x{{ end }}", "has no CEL form here"},
		{"{{ range .Pod.Labels }}x{{ end }}", "has no CEL form here"},
		{"{{ $x := .Pod.Name }}{{ $x }}", "template variables"},
		{"{{ .Pod.Labels }}", ".Pod.Labels prints a Go map"},
		{"{{ .Pod.Labels.app }}", ".Pod.Labels.app has no CEL form"},
		{`{{ index .Values "cpu" }}`, "index is translated only into"},
		{`{{ len .Pod.Name }}`, "the template function len has no CEL form here"},
		{"{{ .Pod.Name" + strings.Repeat(` | trimSuffix "-"`, 12) + " }}", "nests functions too deeply"},
	}
	for _, tc := range tests {
		got, err := tr.translate("f", tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %q, %v; want an error containing %q", tc.in, got, err, tc.want)
		}
	}
}
