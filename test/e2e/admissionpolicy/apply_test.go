package admissionpolicy

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// kubectl apply --dry-run=server accepts every compiled golden: the API server parses and
// type-checks each CEL expression and estimates its cost when a policy is created.
func TestCompiledGoldensApply(t *testing.T) {
	goldens, err := filepath.Glob(tandemtest.RepoFile("internal", "policy", "testdata", "*.compiled.yaml"))
	if err != nil || len(goldens) < 4 {
		t.Fatalf("compiled goldens: %v %v", goldens, err)
	}
	for _, g := range goldens {
		t.Run(filepath.Base(g), func(t *testing.T) {
			out, err := exec.CommandContext(t.Context(), cp.KubectlPath, "--kubeconfig", cp.KubeconfigPath, "apply", "--dry-run=server", "-f", g).CombinedOutput()
			if err != nil {
				t.Fatalf("kubectl apply --dry-run=server: %v\n%s", err, out)
			}
			if n := strings.Count(string(out), "(server dry run)"); n != 6 {
				t.Errorf("%d objects accepted, want the three policies and their bindings:\n%s", n, out)
			}
		})
	}
}
