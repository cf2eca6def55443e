package node

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// Tandem's own image, built as `make image` builds it, runs on a real node under the
// restrictions a platform team would set: kubelet refuses runAsNonRoot for an image
// whose user is root or not numeric, and the binary must need nothing of the empty
// base, not even a writable root filesystem.
func TestTandemImageRunsAsNonRoot(t *testing.T) {
	t.Parallel()
	ns := tandemtest.Namespace(t, client, nil)
	create(t, ns, "-", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"tandem","labels":{"app":"tandem"}},
		"spec":{"restartPolicy":"Never","securityContext":{"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}},
		"containers":[{"name":"tandem","image":"`+images.TandemTag+`","args":["validate"],
		"securityContext":{"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}]}}`)
	p := waitPod(t, ns, "app=tandem", "finished", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	if p.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("tandem validate did not succeed in its image: %s", describe(p))
	}
	out, err := logs(t.Context(), p, "tandem")
	if err != nil || !strings.Contains(out, "embedded examples/config.yaml: valid") {
		t.Errorf("tandem validate's output (error %v) does not say the embedded config is valid:\n%s", err, out)
	}
}
