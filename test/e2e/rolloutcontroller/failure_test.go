package rolloutcontroller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// missingImage is a tag the node does not have; with pull policy Never the kubelet says
// so at once.
const missingImage = "tandem.local/demo-proxy:missing"

// A proxy image the node does not have: the first pod tried is put back on its image,
// Ready, and annotated with the configuration that failed; the controller halts (its
// metrics say so) and, intervals later, has tried no other pod. A new good
// configuration then reaches every pod, the one tried included.
func badImage(t *testing.T) {
	ns := namespace(t, nil)
	before := runWeb(t, ns, 3)
	good := current
	bad := sample(t, ns, func(pods []corev1.Pod) int {
		n := 0
		for _, p := range pods {
			if c, _ := tandemtest.Container(&p, "proxy"); c.Image == missingImage {
				n++
			}
		}
		return n
	})
	serve(t, def{image: missingImage, mark: good.mark})
	digest := configDigest(t)
	failed := waitFailed(t, ns, good.image)
	t.Logf("tried and put back: %s", failed.Name)
	if got := failed.Annotations[failedKey]; !strings.Contains(got, digest) {
		t.Errorf("%s: %s=%q, want the failed configuration's sha256 %s", failed.Name, failedKey, got, digest)
	}
	waitLeaderMetrics(t, halted+" 1 and "+lastFailure+" > 0", func(m map[string]float64) bool {
		return m[halted] == 1 && m[lastFailure] > 0
	})

	time.Sleep(quiet) // intervals in which a halted controller must try no other pod
	most, samples := bad.stop()
	if most > 1 {
		t.Errorf("%d pods had the missing image at once (%d samples)", most, samples)
	}
	pods := waitPods(t, ns, 3, startTimeout, "run the proxy "+good.image, proxyRuns(good.image))
	checkSamePods(t, before, pods)
	restarts := proxyRestarts(before)
	for _, p := range pods {
		if p.UID == failed.UID {
			continue
		}
		if v, ok := p.Annotations[failedKey]; ok {
			t.Errorf("%s was tried too: %s=%s", p.Name, failedKey, v)
		}
		if s, _ := tandemtest.ContainerStatus(&p, "proxy"); s.RestartCount != restarts[p.UID] {
			t.Errorf("%s was touched: its proxy restarted %d times", p.Name, s.RestartCount-restarts[p.UID])
		}
	}
	if evs := events(t, ns, reasonUpdated); len(evs) > 0 {
		t.Errorf("%s events after a failure:\n%s", reasonUpdated, describeEvents(evs))
	}
	evs := waitEvents(t, ns, reasonFailed, failed.UID)
	checkOnce(t, evs, reasonFailed, map[types.UID]string{failed.UID: "pod " + failed.Name})
	if slices.ContainsFunc(evs, func(e corev1.Event) bool { return e.Type != corev1.EventTypeWarning }) {
		t.Errorf("%s events that are not warnings:\n%s", reasonFailed, describeEvents(evs))
	}
	if m, err := metrics(t.Context(), leader(t, "").Name); err != nil || m[halted] != 1 {
		t.Errorf("the controller is no longer halted for the same configuration (%v):\n%s", err, rolloutSeries(m))
	}

	next := def{image: good.other(), mark: good.mark}
	serve(t, next)
	after := waitPods(t, ns, 3, rolloutTimeout, "run the proxy "+next.image+" (a new configuration ends the halt)", proxyRuns(next.image))
	checkSamePods(t, before, after)
	for _, p := range after {
		if v, ok := p.Annotations[failedKey]; ok {
			t.Errorf("%s still carries %s=%s under a new configuration", p.Name, failedKey, v)
		}
	}
	waitLeaderMetrics(t, halted+" 0", func(m map[string]float64) bool { return m[halted] == 0 })
	checkOnce(t, waitEvents(t, ns, reasonUpdated, uids(after)...), reasonUpdated, podUIDs(after))
}

// waitFailed waits until one pod of web carries the failed annotation and runs image
// again, Ready, and returns it; a second annotated pod fails the test at once.
func waitFailed(t *testing.T, ns, image string) corev1.Pod {
	t.Helper()
	var (
		pods   []corev1.Pod
		failed []corev1.Pod
	)
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, rolloutTimeout, true, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, nil
		}
		pods = list.Items
		failed = slices.DeleteFunc(slices.Clone(pods), func(p corev1.Pod) bool { _, ok := p.Annotations[failedKey]; return !ok })
		if len(failed) > 1 {
			return false, fmt.Errorf("%d pods carry %s", len(failed), failedKey)
		}
		return len(failed) == 1 && proxyRuns(image)(&failed[0]), nil
	})
	if err != nil {
		t.Fatalf("not one pod tried, annotated %s and back on %s within %s: %v; pods:\n%s", failedKey, image, rolloutTimeout, err, describeAll(pods))
	}
	return failed[0]
}
