package admissionpolicy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// goldenInputs are the engine's golden inputs that apply to a cluster with admission
// policy. classic-mode.yaml is left out: it is the engine on a cluster without native
// sidecars (Kubernetes < 1.29), which has no MutatingAdmissionPolicy either.
func goldenInputs(t *testing.T) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(filepath.Dir(goldenConfig), "*.yaml"))
	if err != nil || len(all) < 20 {
		t.Fatalf("golden inputs: %v (%d)", err, len(all))
	}
	var inputs []string
	for _, in := range all {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(in) == "config.yaml" || strings.Contains(string(data), "# tandem-test: native-sidecars=false") {
			continue
		}
		inputs = append(inputs, in)
	}
	return inputs
}

// Every pod of every golden input, created once through the webhook and once through the
// compiled policies of the same configuration, is stored the same, or refused with the
// same message.
func TestSamePodsBothWays(t *testing.T) {
	var injected, denied, unchanged int
	for _, in := range goldenInputs(t) {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			viaWebhook, viaPolicy := namespaceFor(t, data, "webhook"), namespaceFor(t, data, "policy")
			for i, pod := range podsOf(t, data) {
				w, p := create(t, viaWebhook, pod), create(t, viaPolicy, pod)
				if w.err != nil || p.err != nil {
					t.Fatalf("pod %d: the API server failed otherwise than by a denial: webhook %v; policy %v", i, w.err, p.err)
				}
				switch {
				case w.denial != "" || p.denial != "":
					denied++
					if w.denial != p.denial {
						t.Errorf("pod %d is refused differently:\nwebhook: %s\npolicy:  %s", i, w.denial, p.denial)
					}
				default:
					if status(w.pod) != "" {
						injected++
					} else {
						unchanged++
					}
					if diff := cmp.Diff(w.pod, p.pod); diff != "" {
						t.Errorf("pod %d differs (-webhook +policy):\n%s", i, diff)
					}
				}
			}
		})
	}
	t.Logf("pods injected: %d, refused: %d, left as they were: %d", injected, denied, unchanged)
	if injected < 10 || denied < 5 {
		t.Errorf("the golden inputs gave %d injected pods and %d refused ones: too few to compare the paths", injected, denied)
	}
}

// status is a normalised pod's status annotation, or "".
func status(pod map[string]any) string {
	meta, _ := pod["metadata"].(map[string]any)
	annotations, _ := meta["annotations"].(map[string]any)
	s, _ := annotations["tandem.io/status"].(string)
	return s
}
