package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A pod on the node's network asks for seed (labels only) and proxy (ports 15000 and
// 15001, which would clash with the node's): with both at the default hostNetwork: auto,
// the API server stores it with seed's label and without the proxy, the client is warned
// with the reason, and the status annotation records why.
func TestHostNetworkPodIsLeftWithoutSidecarsWithPorts(t *testing.T) {
	ns := namespace(t, nil)
	c, warnings := tandemtest.WarningClient(t, cp.RESTConfig)
	p := pod("host", nil, map[string]string{"tandem.io/inject": "seed,proxy"})
	p.Spec.HostNetwork = true
	created, err := c.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(created.Spec.Containers) != 1 || len(created.Spec.InitContainers) != 0 || created.Labels["foo"] != "bar" {
		t.Errorf("want seed's label and no proxy: containers %v, init containers %v, labels %v",
			containerNames(created.Spec.Containers), containerNames(created.Spec.InitContainers), created.Labels)
	}
	var st struct {
		Sidecars []struct{ Name string }
		Skipped  []struct{ Name, Reason string }
	}
	if err := json.Unmarshal([]byte(created.Annotations["tandem.io/status"]), &st); err != nil {
		t.Fatalf("status annotation %q: %v", created.Annotations["tandem.io/status"], err)
	}
	if len(st.Sidecars) != 1 || st.Sidecars[0].Name != "seed" || len(st.Skipped) != 1 || st.Skipped[0].Name != "proxy" || st.Skipped[0].Reason != "HostNetwork" {
		t.Errorf("status %+v: want seed injected and proxy skipped for HostNetwork", st)
	}
	if got := strings.Join(warnings.All(), "\n"); !strings.Contains(got, `HostNetwork: sidecar "proxy" is not injected into a pod on the host network, where the ports it declares would clash`) {
		t.Errorf("warnings %q lack the proxy's HostNetwork warning", got)
	}
}
