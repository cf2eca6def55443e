package rolloutcontroller

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/rollout"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// resumeTimeout bounds how long paused pods take to be updated once the pause ends: an
// interval to notice, then a step per pod.
const resumeTimeout = time.Minute

// A namespace annotated tandem.io/rollout: paused keeps its pods while a namespace
// beside it is rolled, and the leader counts them paused; without the annotation they
// are updated in place.
func pausedNamespace(t *testing.T) {
	held := namespace(t, paused)
	free := namespace(t, nil)
	before := runWeb(t, held, 2)
	runWeb(t, free, 1)
	was := current.image

	next := def{image: current.other(), mark: current.mark}
	serve(t, next)
	waitPods(t, free, 1, rolloutTimeout, "run the proxy "+next.image+" (its namespace is not paused)", proxyRuns(next.image))
	waitLeaderMetrics(t, inPlacePaused+" 2", func(m map[string]float64) bool { return m[inPlacePaused] == 2 })
	time.Sleep(quiet)
	checkUntouched(t, held, before, was)

	annotate(t, held, map[string]string{rollout.PauseKey: ""})
	after := waitPods(t, held, 2, resumeTimeout, "run the proxy "+next.image+" once the namespace's pause is gone", proxyRuns(next.image))
	checkSamePods(t, before, after)
	checkOnce(t, waitEvents(t, held, reasonUpdated, uids(after)...), reasonUpdated, podUIDs(after))
}

// rollout.paused=true annotates Tandem's Deployment, restarting no replica, and a new
// configuration then reaches no pod; rollout.paused=false lets it through.
func globalPause(t *testing.T) {
	ns := namespace(t, nil)
	before := runWeb(t, ns, 2)
	was := current.image
	replicas := tandemPods(t)

	upgrade(t, "rollout.paused=true")
	d, err := client.AppsV1().Deployments(tandemNS).Get(t.Context(), release, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Annotations[rollout.PauseKey] != rollout.PauseValue {
		t.Errorf("Tandem's Deployment has annotations %v, want %s=%s", d.Annotations, rollout.PauseKey, rollout.PauseValue)
	}
	for _, p := range tandemPods(t) {
		if !slices.ContainsFunc(replicas, func(r corev1.Pod) bool { return r.UID == p.UID }) {
			t.Errorf("Tandem's pod %s is new: pausing restarted Tandem", p.Name)
		}
	}
	time.Sleep(2 * interval) // a pause takes effect within one interval

	next := def{image: current.other(), mark: current.mark}
	serve(t, next)
	waitLeaderMetrics(t, inPlacePaused+" 2", func(m map[string]float64) bool { return m[inPlacePaused] == 2 })
	time.Sleep(quiet)
	checkUntouched(t, ns, before, was)
	checkAuditSaysPaused(t, ns, next)

	upgrade(t, "rollout.paused=false")
	after := waitPods(t, ns, 2, resumeTimeout, "run the proxy "+next.image+" once the global pause is lifted", proxyRuns(next.image))
	checkSamePods(t, before, after)
	checkOnce(t, waitEvents(t, ns, reasonUpdated, uids(after)...), reasonUpdated, podUIDs(after))
}

// checkUntouched checks that web's pods in ns are before's, their proxy still image and
// never restarted, with no SidecarUpdated event.
func checkUntouched(t *testing.T, ns string, before []corev1.Pod, image string) {
	t.Helper()
	pods := waitPods(t, ns, len(before), startTimeout, "run the proxy "+image, proxyRuns(image))
	checkSamePods(t, before, pods)
	restarts := proxyRestarts(before)
	for _, p := range pods {
		if s, _ := tandemtest.ContainerStatus(&p, "proxy"); s.RestartCount != restarts[p.UID] {
			t.Errorf("%s: its proxy restarted %d times while paused", p.Name, s.RestartCount-restarts[p.UID])
		}
	}
	if evs := events(t, ns, reasonUpdated); len(evs) > 0 {
		t.Errorf("pods were updated while paused:\n%s", describeEvents(evs))
	}
}

// checkAuditSaysPaused runs tandem audit on ns: it finds the controller in Tandem's
// namespace and says what it would do with web, and that it is paused.
func checkAuditSaysPaused(t *testing.T, ns string, d def) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, "audit", "-n", ns, "--config", configFile(t, d),
		"--tandem-namespace", tandemNS, "--kubeconfig", cp.KubeconfigPath)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 1) {
		t.Fatalf("tandem audit: %v (want exit status 1: the pods are outdated)\n%s", err, out)
	}
	for _, want := range []string{
		"rollout   the controller updates 2 pods in place",
		"Rollout controller (Deployment " + tandemNS + "/" + release + ": in place on, restarts on, missing on, 1 pod at a time, a step every " + interval.String() + "): paused by tandem.io/rollout on Tandem's Deployment " + release,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("tandem audit does not say %q:\n%s", want, out)
		}
	}
}
