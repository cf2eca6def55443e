package policy

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"github.com/tandem-io/tandem/internal/config"
)

// Any configuration the loader accepts compiles, or is refused sidecar by sidecar: never a
// panic, and every sidecar ends up on one path.
func FuzzCompile(f *testing.F) {
	// Small seeds: a whole configuration costs milliseconds to load and compile, and the
	// fuzzer gets further with short inputs.
	data, err := os.ReadFile("testdata/partial.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(twoUncompilable))
	f.Add([]byte("sidecars:\n- name: a\n  namespaces: {matchExpressions: [{key: k, operator: NotIn, values: [x, y]}]}\n  labels: {x: '{{ .Pod.Label \"a\" (.Namespace.Label \"b\" \"c\") | trimPrefix \"p\" }}'}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse(data, "fuzz.yaml")
		if err != nil {
			return
		}
		out, err := Compile(cfg, Options{Partial: true})
		names := append(slices.Clone(out.Compiled), out.Webhook...)
		slices.Sort(names)
		all := slices.Sorted(slices.Values(cfg.Names()))
		if !slices.Equal(names, all) {
			t.Fatalf("compiled %v and left %v, of %v", out.Compiled, out.Webhook, all)
		}
		if err != nil {
			if len(out.Compiled) > 0 {
				t.Fatalf("an error with sidecars compiled: %v", err)
			}
			return
		}
		var b bytes.Buffer
		if err := out.WriteYAML(&b); err != nil {
			t.Fatal(err)
		}
	})
}

// Any template the loader accepts translates to CEL or is refused with a reason; the
// translation never panics and stays bounded.
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{"{{ .Values.cpu }}", `x{{ .Pod.Label "a" .Namespace.Name | trimPrefix "p" | default "d" }}y`,
		`{{ index .Pod.Annotations "k" }}`, "{{ if .Pod.Name }}a{{ else }}b{{ end }}", `{{ replace "a" "b" (trim .Pod.Name) }}`} {
		f.Add(s)
	}
	tr := templateCEL{sidecar: "s", knobs: "variables.s_s_knobs"}
	f.Fuzz(func(t *testing.T, text string) {
		e, err := tr.translate("f", text)
		if err != nil {
			return
		}
		if len(e) > 4*maxExpression+len(text)*8 {
			t.Fatalf("a %d-byte template became %d bytes of CEL", len(text), len(e))
		}
	})
}
