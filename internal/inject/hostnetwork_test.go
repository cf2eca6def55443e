package inject

import (
	"slices"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/internal/config"
)

// On the host network, the default (auto) leaves out only the sidecars that declare
// ports, in containers or init containers, and says so; skip, inject and deny stay.
func TestHostNetworkDefaultSkipsOnlySidecarsWithPorts(t *testing.T) {
	cfg, err := config.Parse([]byte(`sidecars:
- name: seed
  labels: {foo: bar}
- name: shipper
  containers: [{name: shipper, image: x}]
- name: proxy
  containers: [{name: proxy, image: x, ports: [{containerPort: 15001}]}]
- name: init-port
  initContainers: [{name: init-port, image: x, ports: [{containerPort: 9000}]}]
- name: quiet
  hostNetwork: skip
  labels: {quiet: "yes"}
`), "config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pod := `{"metadata":{"annotations":{"tandem.io/inject":"seed,shipper,proxy,init-port,quiet"}},"spec":{"hostNetwork":true,"containers":[{"name":"app","image":"x"}]}}`
	res, err := Inject([]byte(pod), Namespace{Name: "default"}, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"seed", "shipper"}; !slices.Equal(res.Injected, want) {
		t.Errorf("injected %v, want %v", res.Injected, want)
	}
	if want := []string{"proxy", "init-port", "quiet"}; !slices.Equal(res.Skipped, want) {
		t.Errorf("skipped %v, want %v", res.Skipped, want)
	}
	warnings := strings.Join(res.Warnings, "\n")
	for _, want := range []string{
		`HostNetwork: sidecar "proxy" is not injected into a pod on the host network, where the ports it declares would clash`,
		`HostNetwork: sidecar "init-port" is not injected`,
		`HostNetwork: sidecar "quiet" is not injected into a pod on the host network (its hostNetwork setting is skip)`,
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings lack %q:\n%s", want, warnings)
		}
	}
}
