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
	for _, c := range goldenConfigs {
		data, err := os.ReadFile(c.path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
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
