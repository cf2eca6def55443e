package install

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// Tandem installed by `kubectl apply -f deploy/install.yaml`, exactly as committed (its
// image is on the node under the name it uses). The replicas start with no Secret and
// agree on one CA; the platform team then swaps in its configuration by editing the
// ConfigMap, which the running pods pick up; the seed Deployment runs with its
// sidecars; `kubectl delete -f` leaves no webhook configuration.
func TestInstallYAML(t *testing.T) {
	const ns, name = "tandem-system", "tandem"
	manifest := tandemtest.RepoFile("deploy", "install.yaml")
	kubectl(t, "", "apply", "-f", manifest)
	t.Cleanup(func() {
		uninstall(t, func() { _, _ = cp.Kubectl(context.Background(), "delete", "--ignore-not-found", "-f", manifest) }, ns, name)
	})

	t.Run("both replicas serve from a cold start and agree on one CA", func(t *testing.T) {
		waitReplicas(t, ns, name, 2)
		checkOneCA(t, ns, name+"-certs", name)
	})
	t.Run("the ServiceAccount can change only the caBundle, and still repairs it", func(t *testing.T) {
		checkCABundleOnly(t, ns, name, name+"-certs")
	})
	t.Run("a new configuration in the ConfigMap is served without a restart", func(t *testing.T) {
		demo, err := os.ReadFile(tandemtest.RepoFile("examples", "demo", "config.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		cm := kubectl(t, string(demo), "create", "configmap", name+"-config", "-n", ns, "--from-file=config.yaml=/dev/stdin", "--dry-run=client", "-o", "yaml")
		kubectl(t, cm, "apply", "-f", "-")
		waitConfigServed(t, ns, name+"-config")
		probe := tandemtest.Namespace(t, client, nil)
		var image string
		err = wait.PollUntilContextTimeout(t.Context(), time.Second, startTimeout, true, func(ctx context.Context) (bool, error) {
			p, err := client.CoreV1().Pods(probe).Create(ctx, gatedPod("", map[string]string{"tandem.io/inject": "proxy"}), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if image = "(" + fmt.Sprint(err) + ")"; err == nil {
				for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
					if c.Name == "proxy" {
						image = c.Image
					}
				}
			}
			return image == images.ProxyTag, nil
		})
		if err != nil {
			t.Fatalf("the proxy is still %q, not the demo configuration's %s: %v", image, images.ProxyTag, err)
		}
		for _, p := range tandemPods(t, ns) {
			if n := p.Status.ContainerStatuses[0].RestartCount; n != 0 {
				t.Errorf("pod %s restarted %d times", p.Name, n)
			}
		}
	})
	t.Run("the seed Deployment comes out labelled foo=bar with its sidecars, running", func(t *testing.T) {
		seedRuns(t)
	})
	t.Run("kubectl delete -f leaves no webhook configuration", func(t *testing.T) {
		kubectl(t, "", "delete", "-f", manifest, "--wait")
		if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(t.Context(), name, metav1.GetOptions{}); err == nil {
			t.Errorf("the webhook configuration %s is still there", name)
		}
	})
}
