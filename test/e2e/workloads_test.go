package e2e

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// A Job whose pod carries a native sidecar: the real API server accepts restartPolicy
// Always on an init container, and the Job controller's pod has it.
func TestJobGetsANativeSidecar(t *testing.T) {
	ns := namespace(t, nil)
	job := `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"},"spec":{"template":{
		"metadata":{"labels":{"app":"migrate"},"annotations":{"tandem.io/inject":"proxy"}},
		"spec":{"restartPolicy":"Never","containers":[{"name":"app","image":"registry.k8s.io/pause:3.10"}]}}}}`
	if out, err := kubectl(t, job, "create", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	p := waitForPod(t, ns, "app=migrate")
	i := slices.IndexFunc(p.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == "proxy" })
	if i < 0 || !isNativeSidecar(p.Spec.InitContainers[i]) {
		t.Fatalf("init containers %v: want proxy as a native sidecar", containerNames(p.Spec.InitContainers))
	}
}

// Every workload kind, injected offline by tandem inject, is accepted by the API server's
// own validation; and the same kinds created raw get their pods injected by the webhook.
func TestEveryWorkloadKindPassesValidation(t *testing.T) {
	workloads := tandemtest.RepoFile("internal", "inject", "testdata", "inject", "workloads.yaml")
	injected, err := exec.CommandContext(t.Context(), bin, "inject", "-f", workloads, "--config", config).Output()
	if err != nil {
		t.Fatalf("tandem inject: %v", err)
	}
	offline := namespace(t, nil)
	if out, err := kubectl(t, string(injected), "create", "-n", offline, "-f", "-"); err != nil {
		t.Fatalf("the API server rejected tandem inject's output: %v\n%s", err, out)
	}
	online := namespace(t, nil)
	if out, err := kubectl(t, "", "create", "-n", online, "-f", workloads); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// DaemonSets need nodes and CronJobs a schedule: the other kinds make pods here.
	for _, app := range []string{"db", "rs", "rc"} {
		for _, ns := range []string{offline, online} {
			p := waitForPod(t, ns, "app="+app)
			if p.Labels["foo"] != "bar" || strings.Count(p.Annotations["tandem.io/status"], `"seed"`) != 1 {
				t.Errorf("%s pod in %s: labels %v, status %q: want foo=bar, seed injected once", app, ns, p.Labels, p.Annotations["tandem.io/status"])
			}
		}
	}
	// The Job controller labels its pods job-name=<job>.
	if p := waitForPod(t, online, "job-name=job"); !slices.Contains(containerNames(p.Spec.InitContainers), "proxy") {
		t.Errorf("the Job's pod lacks the proxy: %v", containerNames(p.Spec.InitContainers))
	}
}
