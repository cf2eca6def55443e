package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tandem-io/tandem/internal/inject"
)

func TestParseMaxUnavailable(t *testing.T) {
	cases := map[string]struct {
		value string
		// batches of an owner of 10 pods, and of 3; 0 when the value is refused
		of10, of3 int
	}{
		"a count":                          {"2", 2, 2},
		"a count above the pods":           {"20", 20, 20},
		"a percentage, rounded down":       {"25%", 2, 1},
		"a small percentage is at least 1": {"5%", 1, 1},
		"all":                              {"100%", 10, 3},
		"zero":                             {"0", 0, 0},
		"zero percent":                     {"0%", 0, 0},
		"over 100%":                        {"101%", 0, 0},
		"negative":                         {"-1", 0, 0},
		"not a number":                     {"one", 0, 0},
		"a fraction":                       {"1.5", 0, 0},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			v, err := ParseMaxUnavailable("--max-unavailable", c.value)
			if c.of10 == 0 {
				if err == nil || !strings.HasPrefix(err.Error(), "--max-unavailable must be") {
					t.Errorf("%q accepted as %v, or refused without naming the flag: %v", c.value, v, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got10, got3 := BatchSize(v, 10), BatchSize(v, 3); got10 != c.of10 || got3 != c.of3 {
				t.Errorf("batches of %d and %d pods; want %d and %d", got10, got3, c.of10, c.of3)
			}
		})
	}
}

// fleet is namespace shop with a Deployment's n pods, web-0…, each planned by plan.
func fleet(t *testing.T, n int, plan func(*corev1.Pod, Owner) PodPlan, extra ...runtime.Object) (*fake.Clientset, *Plan) {
	t.Helper()
	objects := append([]runtime.Object{ns("shop", nil), newDeployment("shop", "web", nil),
		replicaSet("shop", "web-1", controlledBy("apps/v1", "Deployment", "web"))}, extra...)
	for i := range n {
		objects = append(objects, pod("shop", fmt.Sprintf("web-%d", i), controlledBy("apps/v1", "ReplicaSet", "web-1")))
	}
	cs := newClient(33, true, objects...)
	usePlanner(t, plan)
	p, err := Gather(t.Context(), cs, nil, Selection{})
	if err != nil {
		t.Fatal(err)
	}
	return cs, p
}

func testOptions(maxUnavailable string) Options {
	mu, _ := ParseMaxUnavailable("--max-unavailable", maxUnavailable)
	return Options{MaxUnavailable: mu, Timeout: 10 * time.Second, Poll: time.Millisecond, Restart: true}
}

func getPod(t *testing.T, cs *fake.Clientset, name string) *corev1.Pod {
	t.Helper()
	p, err := cs.Tracker().Get(podsGVR, "shop", name)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*corev1.Pod)
}

// In-place changes go an owner's pods a batch at a time: never more unready at once
// than --max-unavailable allows, and each pod ends on the new image with the new status,
// its app untouched.
func TestApplyPacesEachOwner(t *testing.T) {
	for _, c := range []struct {
		maxUnavailable string
		want           int
	}{{"1", 1}, {"2", 2}, {"40%", 2}, {"100%", 5}} {
		t.Run(c.maxUnavailable, func(t *testing.T) {
			cs, plan := fleet(t, 5, func(p *corev1.Pod, o Owner) PodPlan { return proxyImage(p, o, "proxy:v2") })
			k := newKubelet(cs)
			if err := Apply(t.Context(), cs, plan, testOptions(c.maxUnavailable)); err != nil {
				t.Fatal(err)
			}
			if k.maxUnready != c.want {
				t.Errorf("at most %d pods unready at once; want %d", k.maxUnready, c.want)
			}
			for i := range 5 {
				p := getPod(t, cs, fmt.Sprintf("web-%d", i))
				s, _ := containerStatus(p, "proxy", true)
				if p.Spec.InitContainers[0].Image != "proxy:v2" || s.Image != "proxy:v2" || !podReady(p) ||
					p.Annotations[inject.StatusKey] != plan.Owners[0].Pods[i].Status || p.Spec.Containers[0].Image != "app:v1" {
					t.Errorf("pod %s: proxy %s running %s, ready %v, status %s", p.Name, p.Spec.InitContainers[0].Image, s.Image, podReady(p), p.Annotations[inject.StatusKey])
				}
				if o := plan.Owners[0].Pods[i].Outcome; o != OutcomeUpdated {
					t.Errorf("pod %s: outcome %q", p.Name, o)
				}
			}
			if !plan.Done() {
				t.Error("the plan does not say it is done")
			}
		})
	}
}

// A pod whose new image cannot be pulled is put back on its old one and its old status,
// Ready; the rollout stops there, the other pods untouched.
func TestApplyRollsBackAFailingPod(t *testing.T) {
	cs, plan := fleet(t, 3, func(p *corev1.Pod, o Owner) PodPlan { return proxyImage(p, o, "bad:v2") })
	newKubelet(cs)
	before := getPod(t, cs, "web-0").Annotations[inject.StatusKey]
	err := Apply(t.Context(), cs, plan, testOptions("1"))
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("Apply: %v, want ErrFailed", err)
	}
	first := getPod(t, cs, "web-0")
	if s, _ := containerStatus(first, "proxy", true); first.Spec.InitContainers[0].Image != "proxy:v1" || s.Image != "proxy:v1" || !podReady(first) ||
		first.Annotations[inject.StatusKey] != before {
		t.Errorf("web-0 not put back: proxy %s running %s, ready %v, status %s", first.Spec.InitContainers[0].Image, s.Image, podReady(first), first.Annotations[inject.StatusKey])
	}
	pods := plan.Owners[0].Pods
	// The cause comes from the kubelet's event: a native sidecar's status does not say it.
	if pods[0].Outcome != OutcomeRolledBack || !strings.Contains(pods[0].Error, "Failed: Error: ErrImageNeverPull") {
		t.Errorf("web-0: outcome %q, error %q; want rolled back with the cause", pods[0].Outcome, pods[0].Error)
	}
	for _, r := range pods[1:] {
		if p := getPod(t, cs, r.Name); r.Outcome != OutcomeNotStarted || p.Spec.InitContainers[0].Image != "proxy:v1" {
			t.Errorf("%s: outcome %q, proxy %s; want untouched", r.Name, r.Outcome, p.Spec.InitContainers[0].Image)
		}
	}
}

// New resources go through the resize subresource, and the pod is done once its status
// shows them.
func TestApplyResizesInPlace(t *testing.T) {
	want := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}
	cs, plan := fleet(t, 1, func(p *corev1.Pod, o Owner) PodPlan {
		pp := proxyImage(p, o, "")
		pp.Changes[0].Field, pp.Changes[0].Image, pp.Changes[0].Resources = "resources", "", &want
		return pp
	})
	k := newKubelet(cs)
	if err := Apply(t.Context(), cs, plan, testOptions("1")); err != nil {
		t.Fatal(err)
	}
	p := getPod(t, cs, "web-0")
	s, _ := containerStatus(p, "proxy", true)
	if !sameCPUAndMemory(p.Spec.InitContainers[0].Resources, want) || s.Resources == nil || !sameCPUAndMemory(*s.Resources, want) {
		t.Errorf("proxy resources %v, in status %v; want %v", p.Spec.InitContainers[0].Resources, s.Resources, want)
	}
	if len(k.subresource) != 2 || k.subresource[0] != "resize" || k.subresource[1] != "" {
		t.Errorf("patches of subresources %q; want the resize, then the pod's status annotation", k.subresource)
	}
}

// Once the caller's context ends, the batch under way finishes and no other starts.
func TestApplyFinishesTheStepUnderWay(t *testing.T) {
	cs, plan := fleet(t, 3, func(p *corev1.Pod, o Owner) PodPlan { return proxyImage(p, o, "proxy:v2") })
	newKubelet(cs)
	ctx, cancel := context.WithCancel(t.Context())
	cs.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		cancel() // Ctrl-C, as the first pod is patched
		return false, nil, nil
	})
	err := Apply(ctx, cs, plan, testOptions("1"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply: %v, want context.Canceled", err)
	}
	var got []Outcome
	for _, r := range plan.Owners[0].Pods {
		got = append(got, r.Outcome)
	}
	if want := []Outcome{OutcomeUpdated, OutcomeNotStarted, OutcomeNotStarted}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	if p := getPod(t, cs, "web-0"); !podReady(p) || p.Spec.InitContainers[0].Image != "proxy:v2" {
		t.Errorf("web-0 left half done: %s, ready %v", p.Spec.InitContainers[0].Image, podReady(p))
	}
}

// A restarted sidecar counts as Ready once it has stayed Ready for its probes' period:
// the kubelet may report it Ready once before its probes have run on the new container.
// Were the next pod started at that first Ready, two pods would be unready at once.
func TestApplyWaitsForReadinessToSettle(t *testing.T) {
	cs, plan := fleet(t, 2, func(p *corev1.Pod, o Owner) PodPlan { return proxyImage(p, o, "proxy:v2") })
	for _, name := range []string{"web-0", "web-1"} {
		p := getPod(t, cs, name)
		p.Spec.InitContainers[0].ReadinessProbe = &corev1.Probe{PeriodSeconds: 1}
		if err := cs.Tracker().Update(podsGVR, p, "shop"); err != nil {
			t.Fatal(err)
		}
	}
	k := newKubelet(cs)
	k.flap = true
	opts := testOptions("1")
	opts.Poll = 50 * time.Millisecond
	if err := Apply(t.Context(), cs, plan, opts); err != nil {
		t.Fatal(err)
	}
	if k.maxUnready != 1 {
		t.Errorf("at most %d pods unready at once; want 1", k.maxUnready)
	}
}
