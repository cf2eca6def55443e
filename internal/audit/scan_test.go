package audit

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"
)

// cluster is a small cluster's metadata: namespace shop (no default), namespace mesh
// (default sidecar proxy), and pods of every kind of owner, some with findings.
func cluster(t *testing.T) []runtime.Object {
	cfg := testConfig(t)
	now := metav1.Now()
	deleting := podObject("shop", "web-old-x", controller("apps/v1", "ReplicaSet", "web-old"), asks("proxy"))
	deleting.DeletionTimestamp = &now
	return []runtime.Object{
		namespaceObject("shop", nil),
		namespaceObject("mesh", map[string]string{"tandem.io/inject": "proxy"}),

		object("apps/v1", "ReplicaSet", "shop", "web-7d9f", controller("apps/v1", "Deployment", "web"), nil, nil),
		podObject("shop", "web-7d9f-a", controller("apps/v1", "ReplicaSet", "web-7d9f"), asks("proxy")),
		podObject("shop", "web-7d9f-b", controller("apps/v1", "ReplicaSet", "web-7d9f"), asks("proxy")),
		podObject("shop", "web-7d9f-c", controller("apps/v1", "ReplicaSet", "web-7d9f"), with(asks("proxy"), "tandem.io/status", statusOf(t, cfg, "proxy"))),
		deleting,

		object("batch/v1", "Job", "shop", "report-29000", controller("batch/v1", "CronJob", "report"), nil, nil),
		podObject("shop", "report-29000-q", controller("batch/v1", "Job", "report-29000"), with(asks("seed"), "tandem.io/status", staleStatus("seed"))),

		object("apps/v1", "ReplicaSet", "shop", "orphan", nil, nil, nil),
		podObject("shop", "orphan-1", controller("apps/v1", "ReplicaSet", "orphan"), asks("logs")),
		// Its ReplicaSet is gone: the pods are being garbage-collected.
		podObject("shop", "gone-1", controller("apps/v1", "ReplicaSet", "gone"), asks("logs")),
		podObject("shop", "debug", nil, asks("seed")),
		podObject("shop", "nothing-asked", nil, nil),
		object("v1", "Pod", "shop", "opted-out", nil, map[string]string{"tandem.io/inject": "false"}, asks("seed")),

		// Asks nothing itself: its namespace's default applies.
		podObject("mesh", "db-0", controller("apps/v1", "StatefulSet", "db"), nil),
		podObject("mesh", "db-1", controller("apps/v1", "StatefulSet", "db"), map[string]string{"tandem.io/status": statusOf(t, cfg, "proxy")}),
	}
}

func TestScanFindsPodsAndTheirOwners(t *testing.T) {
	cfg := testConfig(t)
	restart := RollSentence
	shop := []Owner{
		{Ref: Ref{APIVersion: "batch/v1", Kind: "CronJob", Namespace: "shop", Name: "report"},
			Pods:    []Pod{{Name: "report-29000-q", Outdated: []string{"seed"}}},
			Missing: map[string]int{}, Outdated: map[string]int{"seed": 1},
			Fix: "nothing to run: the CronJob's next Job gets the current sidecars; Jobs running now finish as they are"},
		{Ref: Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
			Pods:    []Pod{{Name: "web-7d9f-a", Missing: []string{"proxy"}}, {Name: "web-7d9f-b", Missing: []string{"proxy"}}},
			Missing: map[string]int{"proxy": 2}, Outdated: map[string]int{},
			Command: "tandem rollout --apply -n shop --owner deployment/web", Fix: restart},
		{Ref: Ref{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "debug"},
			Pods:    []Pod{{Name: "debug", Missing: []string{"seed"}}},
			Missing: map[string]int{"seed": 1}, Outdated: map[string]int{},
			Fix: "nothing recreates a bare pod: delete it and create it again"},
		{Ref: Ref{APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: "shop", Name: "gone"},
			Pods:    []Pod{{Name: "gone-1", Missing: []string{"logs"}}},
			Missing: map[string]int{"logs": 1}, Outdated: map[string]int{},
			Command: "kubectl -n shop delete pod gone-1", Fix: "delete the pods: their controller, ReplicaSet gone, creates them again"},
		{Ref: Ref{APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: "shop", Name: "orphan"},
			Pods:    []Pod{{Name: "orphan-1", Missing: []string{"logs"}}},
			Missing: map[string]int{"logs": 1}, Outdated: map[string]int{},
			Command: "kubectl -n shop delete pod orphan-1", Fix: "delete the pods: their controller, ReplicaSet orphan, creates them again"},
	}
	mesh := []Owner{
		{Ref: Ref{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "mesh", Name: "db"},
			Pods:    []Pod{{Name: "db-0", Missing: []string{"proxy"}}},
			Missing: map[string]int{"proxy": 1}, Outdated: map[string]int{},
			Command: "tandem rollout --apply -n mesh --owner statefulset/db", Fix: restart},
	}
	tests := map[string]struct {
		namespace string
		want      Report
	}{
		// 9 pods in shop and 2 in mesh; the one being deleted is not audited.
		"every namespace": {namespace: "", want: Report{Audited: 11, Owners: append(append([]Owner{}, mesh...), shop...)}},
		"one namespace":   {namespace: "shop", want: Report{Audited: 9, Owners: shop}},
		"its default":     {namespace: "mesh", want: Report{Audited: 2, Owners: mesh}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			client := fakeClient(t, cluster(t)...)
			got, err := Scan(context.Background(), client, cfg, tc.namespace)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Scan (-want +got):\n%s", diff)
			}
			// Finished pods are left out by the API server, which only a selector asks.
			for _, a := range client.Actions() {
				if l, ok := a.(clienttesting.ListAction); ok && a.GetResource().Resource == "pods" {
					if fs, want := l.GetListRestrictions().Fields.String(), fields.ParseSelectorOrDie(UnfinishedPods).String(); fs != want {
						t.Errorf("pods listed with field selector %q, want %q", fs, want)
					}
				}
			}
		})
	}
}

// The pods of one ReplicaSet cost one read of it, however many there are.
func TestScanReadsEachOwnerOnce(t *testing.T) {
	objs := []runtime.Object{
		namespaceObject("shop", nil),
		object("apps/v1", "ReplicaSet", "shop", "web-1", controller("apps/v1", "Deployment", "web"), nil, nil),
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		objs = append(objs, podObject("shop", "web-1-"+name, controller("apps/v1", "ReplicaSet", "web-1"), asks("seed")))
	}
	client := fakeClient(t, objs...)
	report, err := Scan(context.Background(), client, testConfig(t), "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Owners) != 1 || len(report.Owners[0].Pods) != 4 {
		t.Fatalf("want the four pods under one owner: %+v", report.Owners)
	}
	gets := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "replicasets" {
			gets++
		}
	}
	if gets != 1 {
		t.Errorf("%d reads of the ReplicaSet, want 1", gets)
	}
}

// An owner that cannot be read is an error, not a guess: a ReplicaSet reported where its
// Deployment should be would send the user to restart the wrong thing.
func TestScanFailsWhenAnOwnerCannotBeRead(t *testing.T) {
	client := fakeClient(t, cluster(t)...)
	client.PrependReactor("get", "replicasets", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "replicasets"}, "", errors.New("no RBAC"))
	})
	_, err := Scan(context.Background(), client, testConfig(t), "shop")
	if err == nil || !strings.Contains(err.Error(), "the ReplicaSet shop/") || !apierrors.IsForbidden(err) {
		t.Errorf("Scan with ReplicaSets unreadable: %v; want the forbidden error naming the ReplicaSet", err)
	}
}

func TestScanFailsOnAMissingNamespace(t *testing.T) {
	_, err := Scan(context.Background(), fakeClient(t, cluster(t)...), testConfig(t), "nowhere")
	if !apierrors.IsNotFound(err) {
		t.Errorf("Scan of a namespace that does not exist: %v, want not found", err)
	}
}

// A controller chain that loops (a faulty controller) ends the climb instead of hanging.
func TestScanStopsClimbingALoop(t *testing.T) {
	client := fakeClient(t,
		namespaceObject("shop", nil),
		object("apps/v1", "ReplicaSet", "shop", "a", controller("apps/v1", "ReplicaSet", "b"), nil, nil),
		object("apps/v1", "ReplicaSet", "shop", "b", controller("apps/v1", "ReplicaSet", "a"), nil, nil),
		podObject("shop", "p", controller("apps/v1", "ReplicaSet", "a"), asks("seed")),
	)
	report, err := Scan(context.Background(), client, testConfig(t), "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Owners) != 1 || report.Owners[0].Kind != "ReplicaSet" {
		t.Errorf("owners %+v: want the pod under one of the ReplicaSets", report.Owners)
	}
}
