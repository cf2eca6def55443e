package webhook

import (
	"context"
	"maps"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	metadatafake "k8s.io/client-go/metadata/fake"
)

// fakeNamespaces is a metadata client that knows namespace platform (team=platform, with
// an annotation and managed fields the cache must not keep).
func fakeNamespaces(t *testing.T) *metadatafake.FakeMetadataClient {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	platform := &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{
			Name:          "platform",
			Labels:        map[string]string{"team": "platform", "tandem.io/inject": "proxy"},
			Annotations:   map[string]string{"big": "an annotation the cache has no use for"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
	}
	return metadatafake.NewSimpleMetadataClient(scheme, platform)
}

func TestNamespaceCacheKeepsOnlyNamesAndLabels(t *testing.T) {
	client := fakeNamespaces(t)
	c := newNamespaceCache(client, client, discardLogger())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.run(ctx)
	eventually(t, "the namespace cache fills", c.synced)

	ns, err := c.namespace(ctx, "platform")
	if err != nil || !ns.LabelsKnown || ns.Labels["team"] != "platform" {
		t.Fatalf("namespace %+v (%v), want the labels of platform", ns, err)
	}
	obj, ok, err := c.informer.GetStore().GetByKey("platform")
	if err != nil || !ok {
		t.Fatalf("platform is not in the cache: %v", err)
	}
	m := obj.(*metav1.PartialObjectMetadata)
	if m.Annotations != nil || m.ManagedFields != nil {
		t.Errorf("the cache keeps more than names and labels: %+v", m.ObjectMeta)
	}
}

func TestNamespaceCacheAsksTheAPIServerWhatItDoesNotHave(t *testing.T) {
	client := fakeNamespaces(t)
	c := newNamespaceCache(client, client, discardLogger()) // never run: every lookup is a miss
	tests := map[string]struct {
		name       string
		wantKnown  bool
		wantLabels map[string]string
		wantErr    string
		wantCalls  int
	}{
		"a namespace the API server has":  {name: "platform", wantKnown: true, wantLabels: map[string]string{"team": "platform", "tandem.io/inject": "proxy"}, wantCalls: 1},
		"a namespace that does not exist": {name: "missing", wantErr: `namespace "missing" does not exist`, wantCalls: 1},
		"no namespace at all":             {name: "", wantKnown: false, wantCalls: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			client.ClearActions()
			ns, err := c.namespace(context.Background(), tc.name)
			if ns.LabelsKnown != tc.wantKnown || !maps.Equal(ns.Labels, tc.wantLabels) {
				t.Errorf("namespace %+v, want known %v with labels %v", ns, tc.wantKnown, tc.wantLabels)
			}
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
			if got := len(client.Actions()); got != tc.wantCalls {
				t.Errorf("%d calls to the API server, want %d", got, tc.wantCalls)
			}
		})
	}
}
