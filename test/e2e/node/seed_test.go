package node

import (
	"testing"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// The demo's test Deployment (examples/test.yaml) on a real node: its pod runs, labelled foo=bar, with
// the proxy's init container done and the proxy itself a Ready native sidecar.
func TestSeedDeploymentRuns(t *testing.T) {
	t.Parallel()
	ns := tandemtest.Namespace(t, client, nil)
	create(t, ns, tandemtest.RepoFile("examples", "test.yaml"), "")
	p := waitReady(t, ns, "app=test")
	if p.Labels["foo"] != "bar" {
		t.Errorf("labels %v lack foo=bar", p.Labels)
	}
	if init := status(t, p, "proxy-init"); init.State.Terminated == nil || init.State.Terminated.ExitCode != 0 {
		t.Errorf("proxy-init did not complete: %+v", init.State)
	}
	for _, name := range []string{"proxy", "test"} {
		if s := status(t, p, name); !s.Ready || s.State.Running == nil {
			t.Errorf("container %s is not running and ready: %s", name, describe(p))
		}
	}
}
