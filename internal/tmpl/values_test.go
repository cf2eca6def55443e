package tmpl

import (
	"slices"
	"testing"
)

func TestValuesRead(t *testing.T) {
	for _, tc := range []struct {
		text string
		keys []string
		all  bool
	}{
		{text: "plain"},
		{text: "{{ .Pod.Name }}"},
		{text: "envoy:{{ .Values.version }}", keys: []string{"version"}},
		{text: "{{ .Values.cpu }}m-{{ $.Values.mem }}", keys: []string{"cpu", "mem"}},
		{text: `{{ index .Values "log-level" }}`, keys: []string{"log-level"}},
		{text: `{{ default "x" .Values.level | upper }}`, keys: []string{"level"}},
		{text: `{{ if .Values.debug }}-v{{ else }}{{ .Values.quiet }}{{ end }}`, keys: []string{"debug", "quiet"}},
		{text: `{{ range $k, $v := .Values }}{{ $k }}{{ end }}`, all: true},
		{text: `{{ with .Values }}{{ .cpu }}{{ end }}`, all: true},
		{text: `{{ $k := "cpu" }}{{ index .Values $k }}`, all: true},
		{text: `{{ trim (.Values.name) }}`, keys: []string{"name"}},
		{text: "{{ .Values.broken "},
	} {
		keys, all := ValuesRead(tc.text)
		if !slices.Equal(keys, tc.keys) || all != tc.all {
			t.Errorf("ValuesRead(%q) = %q, %v; want %q, %v", tc.text, keys, all, tc.keys, tc.all)
		}
	}
}
