package admissionpolicy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A best-effort sidecar left out is a warning kubectl prints, on both paths: the same text
// for the host network; for a clash, the policy names the sidecar and the reason.
func TestBestEffortSkipsWarnOnBothPaths(t *testing.T) {
	tests := []struct {
		input, webhook, policy string
	}{
		{"host-network.yaml",
			`HostNetwork: sidecar "proxy" is not injected into a pod on the host network, where the ports it declares would clash with the node's (its hostNetwork setting is auto, which skips sidecars with ports)`,
			`HostNetwork: sidecar "proxy" is not injected into a pod on the host network, where the ports it declares would clash with the node's (its hostNetwork setting is auto, which skips sidecars with ports)`},
		{"clash-soft.yaml",
			`NameClash: sidecar "clash-soft" cannot be injected: container name "app" is already used by the pod`,
			`NameClash: sidecar "clash-soft" cannot be injected (it is best effort, so the pod goes without it); tandem explain says why`},
	}
	for _, tc := range tests {
		t.Run(tc.input, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(filepath.Dir(goldenConfig), tc.input))
			if err != nil {
				t.Fatal(err)
			}
			pod := podsOf(t, data)[0]
			for path, want := range map[string]string{"webhook": tc.webhook, "policy": tc.policy} {
				c, warnings := tandemtest.WarningClient(t, cp.RESTConfig)
				if _, err := c.CoreV1().Pods(namespaceFor(t, data, path)).Create(t.Context(), pod.DeepCopy(), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				// The API server starts a policy's warning with the policy's name.
				if got := warnings.All(); !slices.ContainsFunc(got, func(w string) bool { return strings.Contains(w, want) }) {
					t.Errorf("through the %s, warnings %q; want one saying %q", path, got, want)
				}
			}
		})
	}
}
