package rollout

import (
	"errors"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

var deploymentsGVR = appsv1.SchemeGroupVersion.WithResource("deployments")

// restartOne plans web-0 for a restart and the others in place.
func restartOne(p *corev1.Pod, o Owner) PodPlan {
	if p.Name != "web-0" {
		return proxyImage(p, o, "proxy:v2")
	}
	return PodPlan{Namespace: p.Namespace, Name: p.Name, UID: p.UID, Owner: o.Ref, Action: ActionRestart, Reason: "env changed",
		Changes: []Change{{Sidecar: "proxy", Part: "env HTTP_PROXY"}}}
}

// A Deployment with a pod to restart gets the restart annotation on its template, and
// the rollout waits for the Deployment's own rollout to finish; its in-place pods are
// left to that rollout.
func TestApplyRestartsThroughTheDeployment(t *testing.T) {
	cs, plan := fleet(t, 2, restartOne)
	k := newKubelet(cs)
	reads := 0
	cs.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj, err := cs.Tracker().Get(deploymentsGVR, "shop", "web")
		if err != nil {
			return true, nil, err
		}
		d := obj.(*appsv1.Deployment)
		reads++
		d.Generation = 2
		if reads >= 3 { // the controller catches up on the third read
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}
		} else {
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 1, AvailableReplicas: 2}
		}
		return true, d, nil
	})
	if err := Apply(t.Context(), cs, plan, testOptions("1")); err != nil {
		t.Fatal(err)
	}
	obj, _ := cs.Tracker().Get(deploymentsGVR, "shop", "web")
	if d := obj.(*appsv1.Deployment); d.Spec.Template.Annotations[RestartedAtKey] == "" {
		t.Errorf("template annotations %v lack %s", d.Spec.Template.Annotations, RestartedAtKey)
	}
	if reads < 3 {
		t.Errorf("the Deployment was read %d times: its rollout was not waited for", reads)
	}
	for _, r := range plan.Owners[0].Pods {
		if r.Outcome != OutcomeRestarted {
			t.Errorf("%s: outcome %q, want restarted", r.Name, r.Outcome)
		}
	}
	if len(k.subresource) != 0 {
		t.Errorf("pods patched (%q): the restart brings them up to date", k.subresource)
	}
}

// With --restart=false the restarts are left alone, and the in-place pods of the same
// Deployment are changed in place.
func TestApplyWithoutRestarts(t *testing.T) {
	cs, plan := fleet(t, 2, restartOne)
	newKubelet(cs)
	opts := testOptions("1")
	opts.Restart = false
	if err := Apply(t.Context(), cs, plan, opts); err != nil {
		t.Fatal(err)
	}
	obj, _ := cs.Tracker().Get(deploymentsGVR, "shop", "web")
	if d := obj.(*appsv1.Deployment); d.Spec.Template.Annotations[RestartedAtKey] != "" {
		t.Error("the Deployment was restarted")
	}
	if got := []Outcome{plan.Owners[0].Pods[0].Outcome, plan.Owners[0].Pods[1].Outcome}; got[0] != "" || got[1] != OutcomeUpdated {
		t.Errorf("outcomes %q; want none for the restart, updated for the in-place pod", got)
	}
}

// A ReplicaSet without a Deployment has its pods evicted, retried while a
// PodDisruptionBudget refuses (429), and each replaced by a Ready pod before the next.
func TestApplyEvictsRetryingWhileABudgetRefuses(t *testing.T) {
	rs := replicaSet("shop", "lone", nil)
	objects := []runtime.Object{ns("shop", nil), rs, pod("shop", "lone-a", controlledBy("apps/v1", "ReplicaSet", "lone"))}
	cs := newClient(33, true, objects...)
	usePlanner(t, func(p *corev1.Pod, o Owner) PodPlan {
		return PodPlan{Namespace: p.Namespace, Name: p.Name, UID: p.UID, Owner: o.Ref, Action: ActionRestart}
	})
	plan, err := Gather(t.Context(), cs, nil, Selection{})
	if err != nil {
		t.Fatal(err)
	}
	evictions := 0
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "eviction" {
			return false, nil, nil
		}
		evictions++
		if evictions < 3 {
			return true, nil, apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 1)
		}
		if err := cs.Tracker().Delete(podsGVR, "shop", "lone-a"); err != nil {
			return true, nil, err
		}
		replacement := pod("shop", "lone-b", controlledBy("apps/v1", "ReplicaSet", "lone"))
		return true, nil, cs.Tracker().Create(podsGVR, replacement, "shop")
	})
	if err := Apply(t.Context(), cs, plan, testOptions("1")); err != nil {
		t.Fatal(err)
	}
	if evictions != 3 {
		t.Errorf("%d evictions asked; want 3 (two refused)", evictions)
	}
	if r := plan.Owners[0].Pods[0]; r.Outcome != OutcomeRestarted {
		t.Errorf("outcome %q (%s), want restarted", r.Outcome, r.Error)
	}
	if _, err := cs.Tracker().Get(podsGVR, "shop", "lone-a"); !apierrors.IsNotFound(err) {
		t.Errorf("lone-a still there: %v", err)
	}
}

// An eviction a budget refuses past the timeout fails the rollout, naming the refusal.
func TestApplyEvictionRefusedUntilTheTimeout(t *testing.T) {
	objects := []runtime.Object{ns("shop", nil), replicaSet("shop", "lone", nil), pod("shop", "lone-a", controlledBy("apps/v1", "ReplicaSet", "lone"))}
	cs := newClient(33, true, objects...)
	usePlanner(t, func(p *corev1.Pod, o Owner) PodPlan {
		return PodPlan{Namespace: p.Namespace, Name: p.Name, UID: p.UID, Owner: o.Ref, Action: ActionRestart}
	})
	plan, err := Gather(t.Context(), cs, nil, Selection{})
	if err != nil {
		t.Fatal(err)
	}
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewTooManyRequests("would violate the pod's disruption budget", 1)
	})
	opts := testOptions("1")
	opts.Timeout = 50 * time.Millisecond
	if err := Apply(t.Context(), cs, plan, opts); !errors.Is(err, ErrFailed) {
		t.Fatalf("Apply: %v, want ErrFailed", err)
	}
	if r := plan.Owners[0].Pods[0]; r.Outcome != OutcomeFailed || r.Error == "" {
		t.Errorf("outcome %q, error %q", r.Outcome, r.Error)
	}
}

func TestRolloutStatus(t *testing.T) {
	replicas := func(n int32) *int32 { return &n }
	cases := map[string]struct {
		obj  runtime.Object
		done bool
	}{
		"deployment not yet observed": {&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 2},
			Spec: appsv1.DeploymentSpec{Replicas: replicas(2)}, Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}}, false},
		"deployment with old pods left": {&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: replicas(2)},
			Status: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 2, AvailableReplicas: 2}}, false},
		"deployment done": {&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: replicas(2)},
			Status: appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}}, true},
		"statefulset with revisions apart": {&appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: replicas(2)},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: 1, ReadyReplicas: 2, UpdateRevision: "b", CurrentRevision: "a"}}, false},
		"statefulset partitioned, its part updated": {&appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: replicas(3),
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: replicas(2)}}},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: 1, ReadyReplicas: 3, UpdatedReplicas: 1, UpdateRevision: "b", CurrentRevision: "a"}}, true},
		"daemonset not all available": {&appsv1.DaemonSet{Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, UpdatedNumberScheduled: 3, NumberAvailable: 2}}, false},
		"daemonset done":              {&appsv1.DaemonSet{Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, UpdatedNumberScheduled: 3, NumberAvailable: 3}}, true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var done bool
			switch o := c.obj.(type) {
			case *appsv1.Deployment:
				_, done, _ = deploymentStatus(o)
			case *appsv1.StatefulSet:
				_, done = statefulSetStatus(o)
			case *appsv1.DaemonSet:
				_, done = daemonSetStatus(o)
			}
			if done != c.done {
				t.Errorf("done %v, want %v", done, c.done)
			}
		})
	}
}
