package chart

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// The chart is for Helm 3 as much as for Helm 4: Helm 3 lints it without a warning and
// renders every value set to the same objects as Helm 4 (which the other tests check),
// hooks included. The text may differ: Helm 4 keeps blank lines Helm 3 drops, and they
// order kinds they do not know differently.
func TestHelm3RendersAsHelm4(t *testing.T) {
	for _, v := range valueSets(t) {
		t.Run(v.name, func(t *testing.T) {
			out, err := cp.Helm3(t.Context(), append([]string{"lint", chartDir}, v.args()...)...)
			if err != nil {
				t.Fatalf("helm3 lint: %v\n%s", err, out)
			}
			for line := range strings.Lines(string(out)) {
				if strings.Contains(line, "[ERROR]") || strings.Contains(line, "[WARNING]") {
					t.Errorf("helm3 lint: %s", strings.TrimSpace(line))
				}
			}
			args := append([]string{"template", "tandem", chartDir, "--namespace", installNS}, v.args()...)
			helm3, err := cp.Helm3(t.Context(), args...)
			if err != nil {
				t.Fatalf("helm3 template: %v", err)
			}
			want, got := byName(t, render(t, v.args()...)), byName(t, helm3)
			if len(want) == 0 {
				t.Fatal("Helm 4 rendered no object")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Helm 3 renders other objects than Helm 4 (-helm4 +helm3):\n%s", diff)
			}
		})
	}
}

// byName decodes a render's objects, by kind and name.
func byName(t *testing.T, rendered []byte) map[string]map[string]any {
	t.Helper()
	objs := map[string]map[string]any{}
	for _, o := range objects(t, rendered) {
		var m map[string]any
		if err := yaml.Unmarshal(o.raw, &m); err != nil {
			t.Fatal(err)
		}
		objs[o.Kind+"/"+o.Metadata.Name] = m
	}
	return objs
}
