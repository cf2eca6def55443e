package rollout

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/internal/rollout"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// A new proxy image reaches 4 running pods in place, one pod at a time: the same pods,
// the app never restarted, never more than one proxy unready; then audit finds nothing
// and a second rollout plans nothing. A new CPU request then resizes the proxy, restarting
// nothing.
func TestProxyImageAndResourcesChangeInPlace(t *testing.T) {
	serve(t, base)
	ns := tandemtest.Namespace(t, client, nil)
	d := web("web", 4)
	// The app calls through the proxy every 100 ms, to count what its restart costs.
	d.Spec.Template.Spec.Containers[0].Args = []string{"-interval", "100ms"}
	createDeployment(t, ns, d)
	before := waitPods(t, ns, "app=web", 4, proxyRuns(images.ProxyTag))

	v2 := def{image: images.ProxyV2Tag, cpu: base.cpu, mark: base.mark}
	serve(t, v2)
	if !tandemtest.ServerAtLeast(t, client, 32) {
		// The proxy is a native sidecar, whose new image the kubelet ignores before 1.32.
		plannedRestarts(t, ns, "image", "the kubelet before Kubernetes 1.32 does not restart a native sidecar whose image changed")
		return
	}
	plan, code := roll(t, "-n", ns)
	if code != 0 || plan.Counts[rollout.ActionInPlace] != 4 || len(plan.Owners) != 1 || plan.Owners[0].Owner.Kind != "Deployment" {
		t.Fatalf("plan (exit %d): %s, owners %+v; want 4 in place under the Deployment", code, counts(plan), plan.Owners)
	}

	unready := sample(t, ns, "app=web", func(pods []corev1.Pod) int {
		n := 0
		for _, p := range pods {
			if s, ok := tandemtest.ContainerStatus(&p, "proxy"); !ok || !s.Ready {
				n++
			}
		}
		return n
	})
	start := time.Now()
	plan, code = roll(t, "-n", ns, "--apply", "--max-unavailable", "1")
	took := time.Since(start)
	_, most, samples := unready.stop()
	t.Logf("4 pods rolled in place in %s; at most %d proxy unready in %d samples", took.Round(100*time.Millisecond), most, samples)
	if code != 0 || !plan.Done() {
		t.Fatalf("apply: exit %d, report %+v", code, plan.Owners)
	}
	if most > 1 {
		t.Errorf("%d proxies were unready at once; --max-unavailable 1 allows one", most)
	}
	after := waitPods(t, ns, "app=web", 4, proxyRuns(images.ProxyV2Tag))
	checkSamePods(t, before, after, "app")
	for _, p := range after {
		failed, calls := callsThroughProxy(t, &p)
		t.Logf("%s: %d of %d calls through the proxy failed (one every 100 ms)", p.Name, failed, calls)
	}

	if out, errOut, code := cli(t, "audit", "--config", configFile, "-n", ns); code != 0 {
		t.Errorf("audit after the rollout: exit %d\n%s%s", code, out, errOut)
	}
	if again, code := roll(t, "-n", ns); code != 0 || again.Counts[rollout.ActionNone] != 4 {
		t.Errorf("a second rollout plans %s (exit %d); want nothing", counts(again), code)
	}

	// Resources: the CPU request through the resize subresource, which Kubernetes serves
	// from 1.33; before, the plan restarts the pods, saying why.
	serve(t, def{image: images.ProxyV2Tag, cpu: "100m", mark: base.mark})
	if !tandemtest.ServerAtLeast(t, client, 33) {
		plannedRestarts(t, ns, "resources", "no pods/resize subresource")
		return
	}
	plan, code = roll(t, "-n", ns, "--apply", "--max-unavailable", "50%")
	if code != 0 || plan.Counts[rollout.ActionInPlace] != 4 || !plan.Done() {
		t.Fatalf("resize: exit %d, %s, report %+v", code, counts(plan), plan.Owners)
	}
	resized := waitPods(t, ns, "app=web", 4, proxyRuns(images.ProxyV2Tag))
	checkSamePods(t, before, resized, "app")
	for i, p := range resized {
		s, _ := tandemtest.ContainerStatus(&p, "proxy")
		if s.Resources == nil || s.Resources.Requests.Cpu().String() != "100m" {
			t.Errorf("%s: the proxy runs with %v, want a CPU request of 100m", p.Name, s.Resources)
		}
		was, _ := tandemtest.ContainerStatus(&after[i], "proxy")
		if s.RestartCount != was.RestartCount {
			t.Errorf("%s: the resize restarted the proxy (%d → %d restarts)", p.Name, was.RestartCount, s.RestartCount)
		}
	}
}

// plannedRestarts checks that the rollout plans the namespace's 4 pods as restarts, each
// for one change of field, saying why.
func plannedRestarts(t *testing.T, ns, field, why string) {
	t.Helper()
	plan, code := roll(t, "-n", ns)
	if code != 0 || plan.Counts[rollout.ActionRestart] != 4 {
		t.Fatalf("%s: exit %d, %s, cluster %+v; want 4 restarts", field, code, counts(plan), plan.Cluster)
	}
	for _, o := range plan.Owners {
		for _, p := range o.Pods {
			if len(p.Changes) != 1 || p.Changes[0].Field != field || p.Changes[0].InPlace || !strings.Contains(p.Changes[0].Why, why) {
				t.Errorf("%s: changes %+v; want the %s, not in place because %s", p.Name, p.Changes, field, why)
			}
		}
	}
}

// checkSamePods checks that after are before's pods, by UID, and that container app
// never restarted.
func checkSamePods(t *testing.T, before, after []corev1.Pod, app string) {
	t.Helper()
	uids := map[types.UID]bool{}
	for _, p := range before {
		uids[p.UID] = true
	}
	for _, p := range after {
		if !uids[p.UID] {
			t.Errorf("pod %s is new (UID %s): the change was meant in place", p.Name, p.UID)
		}
		if s, _ := tandemtest.ContainerStatus(&p, app); s.RestartCount != 0 {
			t.Errorf("pod %s: container %s restarted %d times", p.Name, app, s.RestartCount)
		}
	}
}

// An image the node does not have (pull policy Never) stops the rollout at the first
// pod, which is put back on its previous image, Ready; the other pods are untouched.
func TestBadImageStopsAtTheFirstPod(t *testing.T) {
	if !tandemtest.ServerAtLeast(t, client, 32) {
		t.Skip("before Kubernetes 1.32 a native sidecar's image is not changed in place: TestProxyImageAndResourcesChangeInPlace checks the plan restarts it")
	}
	serve(t, base)
	ns := tandemtest.Namespace(t, client, nil)
	createDeployment(t, ns, web("web", 3))
	before := waitPods(t, ns, "app=web", 3, proxyRuns(images.ProxyTag))

	serve(t, def{image: "tandem.local/demo-proxy:missing", cpu: base.cpu, mark: base.mark})
	plan, code := roll(t, "-n", ns, "--apply", "--max-unavailable", "1", "--timeout", "2m")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	outcomes := map[rollout.Outcome]int{}
	for _, r := range plan.Owners[0].Pods {
		outcomes[r.Outcome]++
		t.Logf("%s: %s %s", r.Name, r.Outcome, r.Error)
	}
	if outcomes[rollout.OutcomeRolledBack] != 1 || outcomes[rollout.OutcomeNotStarted] != 2 {
		t.Errorf("outcomes %v; want one rolled back, two not started", outcomes)
	}
	after := waitPods(t, ns, "app=web", 3, proxyRuns(images.ProxyTag))
	checkSamePods(t, before, after, "app")
	for _, p := range after {
		if c, _ := tandemtest.Container(&p, "proxy"); c.Image != images.ProxyTag {
			t.Errorf("%s: the proxy's spec image is %s, want %s back", p.Name, c.Image, images.ProxyTag)
		}
	}
}

// callsThroughProxy counts the app's calls in its log, and those that failed.
func callsThroughProxy(t *testing.T, p *corev1.Pod) (failed, calls int) {
	t.Helper()
	data, err := client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: "app"}).DoRaw(t.Context())
	if err != nil {
		t.Fatalf("the app's log: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "app: request ") {
			calls++
			if strings.Contains(line, ": error ") {
				failed++
			}
		}
	}
	return failed, calls
}
