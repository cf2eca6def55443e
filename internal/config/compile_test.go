package config

import (
	"strings"
	"testing"
)

// A template that defines a template named like its own field parses on its own but not
// once the part is compiled under its full path (text/template refuses two bodies for one
// name). Load must say so, never panic: a reload runs in a goroutine nothing recovers.
func TestParseReportsATemplateThatDoesNotCompileAsAPart(t *testing.T) {
	yaml := "sidecars:\n- name: p\n  containers:\n  - name: c\n    image: '{{define \"sidecars[0].containers[0].image\"}}a{{end}}b'\n"
	_, err := Parse([]byte(yaml), "config.yaml")
	if err == nil {
		t.Fatal("Parse accepted a template that cannot be compiled")
	}
	for _, want := range []string{`sidecar "p"`, "containers[0]", "multiple definition"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
