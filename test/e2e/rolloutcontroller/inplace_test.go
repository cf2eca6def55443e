package rolloutcontroller

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// eventComponent is the source the controller's events name.
const eventComponent = "tandem-rollout"

// A new proxy image, installed by helm upgrade, reaches the 4 running pods of a
// Deployment in place: the same pods, the app never restarted, never more than one
// proxy unready (maxUnavailable 1), one event per pod naming the new image, and the
// leader's metrics count the 4 pods done; the other replica exports no rollout series.
func inPlaceImage(t *testing.T) {
	ns := namespace(t, nil)
	before := runWeb(t, ns, 4)
	lead := leader(t, "")

	unready := sample(t, ns, unreadyProxies)
	next := def{image: current.other(), mark: current.mark}
	serve(t, next)
	served := time.Now()
	after := waitPods(t, ns, 4, rolloutTimeout, "run the proxy "+next.image, proxyRuns(next.image))
	t.Logf("every pod runs %s %.1fs after every replica served it (interval %s)", next.image, time.Since(served).Seconds(), interval)
	most, samples := unready.stop()
	t.Logf("at most %d proxy unready in %d samples", most, samples)
	if most > 1 {
		t.Errorf("%d proxies were unready at once; maxUnavailable 1 allows one", most)
	}
	checkSamePods(t, before, after)

	evs := waitEvents(t, ns, reasonUpdated, uids(after)...)
	checkOnce(t, evs, reasonUpdated, podUIDs(after))
	for _, e := range evs {
		if !strings.Contains(e.Message, next.image) || e.Type != corev1.EventTypeNormal {
			t.Errorf("event %s on %s: %s %q; want Normal, naming the image %s", e.Reason, e.InvolvedObject.Name, e.Type, e.Message, next.image)
		}
		if e.Source.Component != eventComponent && e.ReportingController != eventComponent {
			t.Errorf("event %s on %s comes from %q/%q, want %s", e.Reason, e.InvolvedObject.Name, e.Source.Component, e.ReportingController, eventComponent)
		}
	}

	waitLeaderMetrics(t, inPlaceDone+" 4", func(m map[string]float64) bool { return m[inPlaceDone] == 4 })
	for _, p := range tandemPods(t) {
		if p.Name == lead.Name {
			continue
		}
		m, err := metrics(t.Context(), p.Name)
		if err != nil {
			t.Fatal(err)
		}
		if s := rolloutSeries(m); !strings.HasPrefix(s, "(no") {
			t.Errorf("%s, not the leader (%s), exports rollout series:\n%s", p.Name, lead.Name, s)
		}
	}
}

// The leader is deleted as soon as it has updated its first pod: the other replica
// takes the Lease and finishes, and no pod is updated twice (one event each, the proxy
// restarted exactly once). The deletion comes within a fraction of an interval, and the
// three pods left take three intervals more: the new leader's metrics show that it
// updated some.
func leaderLost(t *testing.T) {
	ns := namespace(t, nil)
	before := runWeb(t, ns, 4)
	lost := leader(t, "")

	next := def{image: current.other(), mark: current.mark}
	serve(t, next)
	var first []corev1.Event
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, rolloutTimeout, true, func(context.Context) (bool, error) {
		first = events(t, ns, reasonUpdated)
		return len(first) > 0, nil
	})
	if err != nil {
		t.Fatalf("no pod was updated within %s: %v", rolloutTimeout, err)
	}
	t.Logf("deleting the leader %s after its first update:\n%s", lost.Name, describeEvents(first))
	if err := client.CoreV1().Pods(tandemNS).Delete(t.Context(), lost.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	successor := leader(t, lost.Name)
	t.Logf("new leader: %s", successor.Name)

	after := waitPods(t, ns, 4, rolloutTimeout, "run the proxy "+next.image, proxyRuns(next.image))
	checkSamePods(t, before, after)
	evs := waitEvents(t, ns, reasonUpdated, uids(after)...)
	checkOnce(t, evs, reasonUpdated, podUIDs(after))
	restarts := proxyRestarts(before)
	for _, p := range after {
		if now, _ := tandemtest.ContainerStatus(&p, "proxy"); now.RestartCount != restarts[p.UID]+1 {
			t.Errorf("%s: the proxy restarted %d times during the rollout, want once", p.Name, now.RestartCount-restarts[p.UID])
		}
	}
	m := waitLeaderMetrics(t, inPlaceDone+" of at least 1 on the new leader", func(m map[string]float64) bool { return m[inPlaceDone] >= 1 })
	t.Logf("the new leader updated %v pods", m[inPlaceDone])
}
