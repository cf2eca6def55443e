package autorollout

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/tandem-io/tandem/internal/audit"
	"github.com/tandem-io/tandem/internal/rollout"
)

// A new image reaches every pod in place, one step a pass, never more pods at once than
// MaxUnavailable across the cluster, with an event per pod and the counts following.
func TestControllerUpdatesInPlaceAtItsPace(t *testing.T) {
	for _, tc := range []struct {
		maxUnavailable string
		passes         int
	}{{"1", 6}, {"2", 3}, {"50%", 4}} {
		t.Run(tc.maxUnavailable, func(t *testing.T) {
			cl := webAt(t, "v1", 4)
			cl.deployment("shop", "api", 2, testConfig(t, "v1", "a"))
			cfg := testConfig(t, "v2", "a")
			mu, err := rollout.ParseMaxUnavailable("--rollout-max-unavailable", tc.maxUnavailable)
			if err != nil {
				t.Fatal(err)
			}
			ctl := cl.controller(&cfg, func(o *Options) { o.MaxUnavailable = mu })
			limit := rollout.BatchSize(mu, 4)
			for range tc.passes {
				ctl.pass(cl)
				steps := cl.taken()
				if len(steps) != 1 || len(steps[0].pods) > limit || steps[0].restart {
					t.Fatalf("a pass took %+v; want one in-place step of at most %d pods", steps, limit)
				}
			}
			ctl.pass(cl)
			if steps := cl.taken(); len(steps) != 0 {
				t.Errorf("with every pod current, a pass still took %+v", steps)
			}
			events := ctl.drain()
			if n := count(events, ReasonUpdated); n != 6 {
				t.Errorf("%d %s events, want 6: %q", n, ReasonUpdated, events)
			}
			if !slices.ContainsFunc(events, func(e string) bool { return strings.Contains(e, "proxy: image proxy:v1 → proxy:v2") }) {
				t.Errorf("no event says the change: %q", events)
			}
			if got := ctl.shown(); len(got) != 1 || got["in-place/done"] != 6 {
				t.Errorf("series %v, want in-place/done 6 alone", got)
			}
		})
	}
}

// The counts are current after each pass: what the step did is done, not pending.
func TestControllerCountsPendingAndDone(t *testing.T) {
	cl := webAt(t, "v1", 3)
	cfg := testConfig(t, "v2", "a")
	ctl := cl.controller(&cfg, nil)
	ctl.pass(cl)
	if got := ctl.shown(); got["in-place/pending"] != 2 || got["in-place/done"] != 1 {
		t.Errorf("after one pass: %v, want 2 pending and 1 done", got)
	}
}

// A pod that fails is annotated with the configuration's digest, and halts the rollout
// of that configuration: no other pod is tried, on this leader or the next, until the
// annotation is removed or the configuration changes.
func TestControllerHaltsOnAFailure(t *testing.T) {
	cl := webAt(t, "v1", 3)
	cl.fail["web-0"] = true
	bad := testConfig(t, "nope", "a")
	cfg := bad
	ctl := cl.controller(&cfg, nil)
	ctl.pass(cl)
	if got := podsOf(cl.taken()); !slices.Equal(got, []string{"web-0"}) {
		t.Fatalf("first pass tried %v, want web-0", got)
	}
	if got := annotation(t, cl, "web-0"); got != bad.SHA256 {
		t.Errorf("the failed pod's %s is %q, want the digest %s", FailedKey, got, bad.SHA256)
	}
	events := ctl.drain()
	if count(events, ReasonFailed) != 1 || !strings.Contains(strings.Join(events, "\n"), "Warning "+ReasonFailed) {
		t.Errorf("events %q, want one Warning %s", events, ReasonFailed)
	}
	for range 3 {
		ctl.pass(cl)
	}
	if got := cl.taken(); len(got) != 0 {
		t.Fatalf("halted, yet took %+v", got)
	}
	got := ctl.shown()
	if got["in-place/failed"] != 1 || got["in-place/paused"] != 3 || got["in-place/pending"] != 0 || !ctl.Controller.shown.halted || ctl.Controller.shown.lastFailure.IsZero() {
		t.Errorf("while halted: %v halted=%v, want 1 failed, 3 paused, halted, a failure time", got, ctl.Controller.shown.halted)
	}

	next := cl.controller(&cfg, nil) // another leader
	next.pass(cl)
	if got := cl.taken(); len(got) != 0 {
		t.Fatalf("the next leader retried the failed configuration: %+v", got)
	}

	// Someone removes the record: the rollout resumes, and tries again.
	delete(cl.fail, "web-0")
	cl.update("shop", "web-0", func(p *corev1.Pod) { delete(p.Annotations, FailedKey) })
	ctl.pass(cl)
	if got := podsOf(cl.taken()); !slices.Equal(got, []string{"web-0"}) {
		t.Errorf("after the record was removed, took %v; want web-0 again", got)
	}
}

// A new configuration is tried even after the last one failed, and the stale records
// of the failure are removed.
func TestControllerRetriesANewConfiguration(t *testing.T) {
	cl := webAt(t, "v1", 2)
	cl.fail["web-0"] = true
	cfg := testConfig(t, "nope", "a")
	ctl := cl.controller(&cfg, nil)
	ctl.pass(cl)
	cl.taken()
	delete(cl.fail, "web-0")
	cfg = testConfig(t, "v2", "a")
	ctl.pass(cl)
	if got := podsOf(cl.taken()); !slices.Equal(got, []string{"web-0"}) {
		t.Errorf("after the configuration changed, took %v; want web-0", got)
	}
	if got := annotation(t, cl, "web-0"); got != "" {
		t.Errorf("the stale failure record %q is still on the pod", got)
	}
	if got := ctl.shown(); got["in-place/failed"] != 0 || ctl.Controller.shown.halted {
		t.Errorf("a new configuration starts its counts afresh: %v halted=%v", got, ctl.Controller.shown.halted)
	}
}

// When the failed pod is gone, its leader stays halted (nothing records the failure
// but its memory) until the configuration changes; a new leader starts afresh.
func TestControllerRemembersAFailureWhosePodIsGone(t *testing.T) {
	cl := webAt(t, "v1", 3)
	cl.fail["web-0"] = true
	cfg := testConfig(t, "nope", "a")
	ctl := cl.controller(&cfg, nil)
	ctl.pass(cl)
	ctl.pass(cl) // sees the record on the pod
	cl.taken()
	if err := cl.cs.CoreV1().Pods("shop").Delete(context.Background(), "web-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ctl.pass(cl)
	if got := cl.taken(); len(got) != 0 {
		t.Errorf("the leader forgot the failure once its pod was gone: took %+v", got)
	}
	restarted := cl.controller(&cfg, nil)
	restarted.pass(cl)
	if got := podsOf(cl.taken()); len(got) != 1 {
		t.Errorf("a restarted leader took %v; want one pod", got)
	}
}

func annotation(t *testing.T, cl *cluster, pod string) string {
	t.Helper()
	p, err := cl.cs.CoreV1().Pods("shop").Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Annotations[FailedKey]
}

// A pod's verdict is kept while nothing it was decided on changes, and decided again
// when its namespace's labels (which may pick its sidecars) or the pod change.
func TestControllerJudgesAPodAgainWhenItsNamespaceChanges(t *testing.T) {
	cl := newCluster(t)
	cfg := testConfig(t, "v1", "a")
	ctl := cl.controller(&cfg, func(o *Options) { o.Missing = true })
	pod := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "mesh", Name: "web-0", UID: "u", ResourceVersion: "7"}}
	view := func(nsVersion string, labels map[string]string) audit.View {
		pods, namespaces := cache.NewStore(cache.MetaNamespaceKeyFunc), cache.NewStore(cache.MetaNamespaceKeyFunc)
		_ = pods.Add(pod)
		_ = namespaces.Add(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "mesh", ResourceVersion: nsVersion, Labels: labels}})
		return audit.NewView(pods, namespaces)
	}
	judge := func(v audit.View) bool {
		ctl.passes++
		return ctl.needs(v, pod, v.Namespace("mesh"), cfg)
	}
	if judge(view("1", nil)) {
		t.Error("a pod that asks for nothing needs the controller")
	}
	asks := map[string]string{"tandem.io/inject": "proxy"}
	if !judge(view("2", asks)) {
		t.Error("once its namespace picks the proxy, the pod, without it, is not judged missing it")
	}
	if !judge(view("2", nil)) {
		t.Error("the verdict was decided again though nothing it was decided on changed")
	}
}
