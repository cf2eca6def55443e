package rollout

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tandem-io/tandem/internal/inject"
)

// Each pod is planned with the top of its controller chain, its pause (the namespace's
// or the owner's) and its owner's update strategy; a pod being deleted is not planned.
func TestGatherClimbsToTheOwnerAndReadsPauses(t *testing.T) {
	paused := map[string]string{PauseKey: PauseValue}
	onDelete := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db"},
		Spec: appsv1.StatefulSetSpec{UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}}}
	deleting := pod("shop", "leaving", nil)
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
	bare := pod("shop", "debug", nil)
	bare.Annotations[PauseKey] = PauseValue
	objects := []runtime.Object{
		ns("shop", nil), ns("frozen", paused),
		newDeployment("shop", "web", nil), replicaSet("shop", "web-1", controlledBy("apps/v1", "Deployment", "web")),
		pod("shop", "web-1-a", controlledBy("apps/v1", "ReplicaSet", "web-1")),
		newDeployment("shop", "api", paused), replicaSet("shop", "api-1", controlledBy("apps/v1", "Deployment", "api")),
		pod("shop", "api-1-a", controlledBy("apps/v1", "ReplicaSet", "api-1")),
		replicaSet("shop", "lone", nil), pod("shop", "lone-a", controlledBy("apps/v1", "ReplicaSet", "lone")),
		&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "nightly"}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "nightly-1", OwnerReferences: controlledBy("batch/v1", "CronJob", "nightly")}},
		pod("shop", "nightly-1-a", controlledBy("batch/v1", "Job", "nightly-1")),
		onDelete, pod("shop", "db-0", controlledBy("apps/v1", "StatefulSet", "db")),
		pod("shop", "gone-a", controlledBy("apps/v1", "ReplicaSet", "gone")),
		bare, deleting,
		newDeployment("frozen", "web", nil), replicaSet("frozen", "web-1", controlledBy("apps/v1", "Deployment", "web")),
		pod("frozen", "web-1-b", controlledBy("apps/v1", "ReplicaSet", "web-1")),
	}
	seen := usePlanner(t, func(p *corev1.Pod, o Owner) PodPlan { return proxyImage(p, o, "proxy:v2") })
	plan, err := Gather(t.Context(), newClient(29, true, objects...), nil, Selection{})
	if err != nil {
		t.Fatal(err)
	}
	ref := func(apiVersion, kind, namespace, name string) Ref {
		return Ref{APIVersion: apiVersion, Kind: kind, Namespace: namespace, Name: name}
	}
	want := map[string]Owner{
		"web-1-a":     {Ref: ref("apps/v1", "Deployment", "shop", "web"), Replicas: 2},
		"api-1-a":     {Ref: ref("apps/v1", "Deployment", "shop", "api"), Paused: true, PausedBy: "Deployment api", Replicas: 2},
		"lone-a":      {Ref: ref("apps/v1", "ReplicaSet", "shop", "lone"), Replicas: 1},
		"nightly-1-a": {Ref: ref("batch/v1", "CronJob", "shop", "nightly"), CronJob: true},
		"db-0":        {Ref: ref("apps/v1", "StatefulSet", "shop", "db"), OnDelete: true, Replicas: 1},
		"gone-a":      {Ref: ref("apps/v1", "ReplicaSet", "shop", "gone")},
		"debug":       {Ref: ref("v1", "Pod", "shop", "debug"), Paused: true, PausedBy: "Pod debug"},
		"web-1-b":     {Ref: ref("apps/v1", "Deployment", "frozen", "web"), Paused: true, PausedBy: "namespace frozen", Replicas: 2},
	}
	if diff := cmp.Diff(want, seen.owners); diff != "" {
		t.Errorf("owners planned with (-want +got):\n%s", diff)
	}
	if plan.Pods != 8 || plan.Counts[ActionInPlace] != 8 || len(plan.Owners) != 8 {
		t.Errorf("plan: %d pods, counts %v, %d owners; want 8 pods in place under 8 owners", plan.Pods, plan.Counts, len(plan.Owners))
	}
	if !plan.Cluster.NativeSidecars || !plan.Cluster.Resize {
		t.Errorf("cluster %+v: want native sidecars and resize on 1.29 with pods/resize", plan.Cluster)
	}
}

// A cluster's pods come a page at a time, every page read: 1,201 pods in three pages.
func TestGatherReadsEveryPage(t *testing.T) {
	objects := []runtime.Object{ns("big", nil)}
	for i := range 1201 {
		objects = append(objects, pod("big", fmt.Sprintf("p-%04d", i), nil))
	}
	cs := newClient(28, false, objects...)
	var requests int
	pagedLists(cs, &requests)
	usePlanner(t, func(p *corev1.Pod, o Owner) PodPlan {
		return PodPlan{Namespace: p.Namespace, Name: p.Name, Owner: o.Ref, Action: ActionNone}
	})
	plan, err := Gather(t.Context(), cs, nil, Selection{Namespace: "big"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Pods != 1201 || plan.Counts[ActionNone] != 1201 || requests != 3 {
		t.Errorf("%d pods planned (%v) in %d requests; want 1201 in 3", plan.Pods, plan.Counts, requests)
	}
	if len(plan.Owners) != 0 || plan.Cluster.NativeSidecars || plan.Cluster.Resize {
		t.Errorf("owners %v, cluster %+v: want none to act on, and a 1.28 cluster without resize", plan.Owners, plan.Cluster)
	}
}

// --owner keeps one owner's pods, its kind in any case; --sidecar keeps one sidecar's
// changes, and a pod left without any is current.
func TestGatherSelects(t *testing.T) {
	objects := []runtime.Object{ns("shop", nil),
		newDeployment("shop", "web", nil), replicaSet("shop", "web-1", controlledBy("apps/v1", "Deployment", "web")),
		pod("shop", "web-1-a", controlledBy("apps/v1", "ReplicaSet", "web-1")),
		pod("shop", "debug", nil),
	}
	usePlanner(t, func(p *corev1.Pod, o Owner) PodPlan { return proxyImage(p, o, "proxy:v2") })
	cases := map[string]struct {
		sel           Selection
		pods, inPlace int
	}{
		"every pod":                      {Selection{}, 2, 2},
		"one owner, kind in any case":    {Selection{Owner: "DEPLOYMENT/web"}, 1, 1},
		"a bare pod by kind Pod":         {Selection{Owner: "pod/debug"}, 1, 1},
		"an owner that is not there":     {Selection{Owner: "deployment/api"}, 0, 0},
		"the sidecar that changes":       {Selection{Sidecar: "proxy"}, 2, 2},
		"a sidecar that does not":        {Selection{Sidecar: "logs"}, 2, 0},
		"an owner and a sidecar at once": {Selection{Owner: "deployment/web", Sidecar: "proxy"}, 1, 1},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			plan, err := Gather(t.Context(), newClient(33, true, objects...), nil, c.sel)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Pods != c.pods || plan.Counts[ActionInPlace] != c.inPlace || plan.Counts[ActionNone] != c.pods-c.inPlace {
				t.Errorf("%d pods, counts %v; want %d pods, %d in place", plan.Pods, plan.Counts, c.pods, c.inPlace)
			}
		})
	}
}

// With --sidecar, an in-place pod's status annotation takes the new record of that
// sidecar alone: the others keep theirs, so that they still show as outdated.
func TestOnlyKeepsTheOtherSidecarsRecords(t *testing.T) {
	p := pod("shop", "web", nil)
	p.Annotations[inject.StatusKey] = `{"sidecars":[{"name":"proxy","hash":"p1"},{"name":"logs","hash":"l1"}],"skipped":[{"name":"x","reason":"HostNetwork"}]}`
	pp := proxyImage(p, Owner{}, "proxy:v2")
	pp.Changes = append(pp.Changes, Change{Sidecar: "logs", Part: "container logs", Field: "image", Container: "logs", Image: "logs:v2", InPlace: true})
	pp.Status = `{"sidecars":[{"name":"proxy","hash":"p2"},{"name":"logs","hash":"l2"}]}`
	got := Selection{Sidecar: "proxy"}.only(p, pp)
	want := `{"sidecars":[{"name":"proxy","hash":"p2"},{"name":"logs","hash":"l1"}],"skipped":[{"name":"x","reason":"HostNetwork"}]}`
	if got.Status != want || len(got.Changes) != 1 || got.Changes[0].Sidecar != "proxy" {
		t.Errorf("status %s, changes %v;\nwant status %s and the proxy's change alone", got.Status, got.Changes, want)
	}
	p.Annotations[inject.StatusKey] = "not json"
	if got := (Selection{Sidecar: "proxy"}).only(p, pp); got.Status != "" {
		t.Errorf("with an unreadable status the pod would be marked %q; want no status written", got.Status)
	}
}
