package e2e

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// The classic foo=bar webhook demo: kubectl create -f examples/test.yaml, and the pod the
// ReplicaSet controller creates comes out labelled foo=bar, with the proxy sidecar.
func TestSeedScenario(t *testing.T) {
	ns := namespace(t, nil)
	if out, err := kubectl(t, "", "create", "-n", ns, "-f", tandemtest.RepoFile("examples", "test.yaml")); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	p := waitForPod(t, ns, "app=test")
	if p.Labels["foo"] != "bar" {
		t.Errorf("labels %v lack foo=bar", p.Labels)
	}
	inits := containerNames(p.Spec.InitContainers)
	if !slices.Equal(inits, []string{"proxy-init", "proxy"}) || !isNativeSidecar(p.Spec.InitContainers[1]) {
		t.Errorf("init containers %v: want proxy-init, then proxy as a native sidecar", inits)
	}
	if status := p.Annotations["tandem.io/status"]; !strings.Contains(status, `"seed"`) || !strings.Contains(status, `"proxy"`) {
		t.Errorf("status annotation %q does not record seed and proxy", status)
	}
	app := p.Spec.Containers[0]
	if app.Name != "test" || !slices.ContainsFunc(app.Env, func(e corev1.EnvVar) bool { return e.Name == "HTTP_PROXY" }) {
		t.Errorf("the app container %s lacks the proxy's HTTP_PROXY", app.Name)
	}
}

// A pod with no labels and no annotations at all: the classic demo's patch (an "add" to
// /metadata/labels/foo) fails on it; Tandem creates the parent.
func TestBarePodGetsTheLabel(t *testing.T) {
	ns := namespace(t, map[string]string{"tandem.io/inject": "seed"})
	created, err := client.CoreV1().Pods(ns).Create(t.Context(), pod("bare", nil, nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.Labels["foo"] != "bar" || created.Annotations["tandem.io/status"] == "" {
		t.Fatalf("labels %v, annotations %v: want foo=bar and a status", created.Labels, created.Annotations)
	}
}

func TestNamespaceDefaultAndOptOut(t *testing.T) {
	ns := namespace(t, map[string]string{"tandem.io/inject": "seed.logs"})
	defaulted, err := client.CoreV1().Pods(ns).Create(t.Context(), pod("defaulted", map[string]string{"app": "x"}, nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if defaulted.Labels["foo"] != "bar" || !slices.Contains(containerNames(defaulted.Spec.Containers), "logs") {
		t.Errorf("the namespace default seed.logs was not applied: labels %v, containers %v", defaulted.Labels, containerNames(defaulted.Spec.Containers))
	}
	out, err := client.CoreV1().Pods(ns).Create(t.Context(), pod("opted-out", map[string]string{"tandem.io/inject": "false"}, map[string]string{"tandem.io/inject": "seed"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Labels["foo"] != "" || out.Annotations["tandem.io/status"] != "" || len(out.Spec.Containers) != 1 {
		t.Errorf("an opted-out pod was changed: labels %v, annotations %v", out.Labels, out.Annotations)
	}
}

func TestUnknownSidecarIsDeniedByName(t *testing.T) {
	ns := namespace(t, nil)
	manifest := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"typo","annotations":{"tandem.io/inject":"seed,envoy"}},
		"spec":{"containers":[{"name":"app","image":"registry.k8s.io/pause:3.10"}]}}`
	_, err := kubectl(t, manifest, "create", "-n", ns, "-f", "-")
	if err == nil {
		t.Fatal("the pod was created")
	}
	for _, want := range []string{`denied the request`, `sidecar "envoy", which is not defined in the Tandem config`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("kubectl's error lacks %q:\n%v", want, err)
		}
	}
}

func TestRestrictedSidecarFollowsNamespaceLabels(t *testing.T) {
	plain := namespace(t, nil)
	_, err := kubectl(t, podJSON("sneaky", "vault"), "create", "-n", plain, "-f", "-")
	if err == nil || !strings.Contains(err.Error(), `sidecar "vault" is not allowed in namespace "`+plain+`"`) {
		t.Fatalf("want a denial naming the sidecar and namespace, got %v", err)
	}
	allowed := namespace(t, map[string]string{"vault.example.com/allowed": "true"})
	p, err := client.CoreV1().Pods(allowed).Create(t.Context(), pod("trusted", nil, map[string]string{"tandem.io/inject": "vault"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// vault's native: auto makes it a native sidecar on this 1.37 API server.
	if !slices.Contains(containerNames(p.Spec.InitContainers), "vault-agent") {
		t.Errorf("init containers %v lack vault-agent", containerNames(p.Spec.InitContainers))
	}
}

func podJSON(name, sidecars string) string {
	return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `","annotations":{"tandem.io/inject":"` + sidecars + `"}},
		"spec":{"containers":[{"name":"app","image":"registry.k8s.io/pause:3.10"}]}}`
}
