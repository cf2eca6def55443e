package audit

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
)

// pagedClient lists pods a page at a time, as the API server does (the fake client
// ignores Limit and Continue), and records each list request. When expire is set, the
// first use of the continue token that starts at that offset fails as an expired token
// does after a compaction.
type pagedClient struct {
	metadata.Interface
	mu       sync.Mutex
	requests []string
	expire   int
	expired  bool
}

func (c *pagedClient) Resource(r schema.GroupVersionResource) metadata.Getter {
	inner := c.Interface.Resource(r)
	if r != podsResource {
		return inner
	}
	return pagedResource{getter: inner, ResourceInterface: inner, client: c}
}

type pagedResource struct {
	metadata.ResourceInterface // the one List pages
	getter                     metadata.Getter
	client                     *pagedClient
}

func (r pagedResource) Namespace(ns string) metadata.ResourceInterface {
	return pagedResource{getter: r.getter, ResourceInterface: r.getter.Namespace(ns), client: r.client}
}

func (r pagedResource) List(ctx context.Context, opts metav1.ListOptions) (*metav1.PartialObjectMetadataList, error) {
	c := r.client
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, fmt.Sprintf("limit=%d continue=%q", opts.Limit, opts.Continue))
	start := 0
	if opts.Continue != "" {
		n, err := strconv.Atoi(opts.Continue)
		if err != nil {
			return nil, apierrors.NewBadRequest("bad continue token")
		}
		start = n
	}
	if start != 0 && start == c.expire && !c.expired {
		c.expired = true
		return nil, apierrors.NewResourceExpired("the provided continue parameter is too old")
	}
	all, err := r.ResourceInterface.List(ctx, metav1.ListOptions{LabelSelector: opts.LabelSelector, FieldSelector: opts.FieldSelector})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all.Items, func(a, b metav1.PartialObjectMetadata) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	end := len(all.Items)
	if opts.Limit > 0 && start+int(opts.Limit) < end {
		end = start + int(opts.Limit)
		all.Continue = strconv.Itoa(end)
	}
	all.Items = all.Items[start:end]
	return all, nil
}

// manyPods is a namespace of n bare pods that each lack seed.
func manyPods(t *testing.T, n int) []runtime.Object {
	objs := []runtime.Object{namespaceObject("big", nil)}
	for i := range n {
		objs = append(objs, podObject("big", fmt.Sprintf("p-%04d", i), nil, asks("seed")))
	}
	return objs
}

// Every page is audited, not only the first; and a continue token that expires midway
// makes the audit list again, not fail or count some pods twice.
func TestScanReadsEveryPage(t *testing.T) {
	const pods = 2*pageSize + 1
	tests := map[string]struct {
		expire   int
		requests []string
	}{
		"three pages": {requests: []string{`limit=500 continue=""`, `limit=500 continue="500"`, `limit=500 continue="1000"`}},
		"the second token expires": {expire: pageSize,
			requests: []string{`limit=500 continue=""`, `limit=500 continue="500"`, `limit=0 continue=""`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			client := &pagedClient{Interface: fakeClient(t, manyPods(t, pods)...), expire: tc.expire}
			report, err := Scan(context.Background(), client, testConfig(t), "big")
			if err != nil {
				t.Fatal(err)
			}
			missing := 0
			for _, o := range report.Owners {
				missing += o.Missing["seed"]
			}
			if report.Audited != pods || missing != pods {
				t.Errorf("%d pods audited and %d found missing seed; want %d and %d", report.Audited, missing, pods, pods)
			}
			if !slices.Equal(client.requests, tc.requests) {
				t.Errorf("list requests %q, want %q", client.requests, tc.requests)
			}
		})
	}
}

// A chain longer than Kubernetes' own (a controller that manages ReplicaSets of its
// own, under a Deployment) is climbed to its top, within maxChain steps.
func TestScanClimbsTheWholeChain(t *testing.T) {
	client := fakeClient(t,
		namespaceObject("shop", nil),
		object("apps/v1", "ReplicaSet", "shop", "outer", controller("apps/v1", "Deployment", "web"), nil, nil),
		object("apps/v1", "ReplicaSet", "shop", "middle", controller("apps/v1", "ReplicaSet", "outer"), nil, nil),
		object("apps/v1", "ReplicaSet", "shop", "inner", controller("apps/v1", "ReplicaSet", "middle"), nil, nil),
		podObject("shop", "p", controller("apps/v1", "ReplicaSet", "inner"), asks("seed")),
	)
	report, err := Scan(context.Background(), client, testConfig(t), "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Owners) != 1 || report.Owners[0].Ref != (Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}) {
		t.Errorf("owners %+v: want the pod under the Deployment web", report.Owners)
	}
}
