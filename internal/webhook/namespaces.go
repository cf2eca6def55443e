package webhook

import (
	"context"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/tandem-io/tandem/internal/inject"
)

// namespaceSource tells the engine what it needs of a pod's namespace: its labels, which
// carry the namespace's default sidecars and which sidecars' namespaces selectors match.
type namespaceSource interface {
	namespace(ctx context.Context, name string) inject.Namespace
}

// noCluster is the source when Tandem runs without a cluster: labels are never known, so
// namespace defaults do not apply and namespace-restricted sidecars are denied.
type noCluster struct{}

func (noCluster) namespace(_ context.Context, name string) inject.Namespace {
	return inject.Namespace{Name: name}
}

var namespacesResource = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// lookupTimeout bounds asking the API server for a namespace the cache does not have yet;
// the API server gives the whole admission call 10 s by default.
const lookupTimeout = 2 * time.Second

// namespaceCache keeps the labels of every namespace in memory. It lists and watches the
// namespaces' metadata only (never their spec or status) and keeps only name and labels
// of that, so a cluster with thousands of namespaces costs a few hundred kilobytes.
type namespaceCache struct {
	informer cache.SharedIndexInformer
	client   metadata.Interface
	log      *slog.Logger
}

func newNamespaceCache(client metadata.Interface, log *slog.Logger) *namespaceCache {
	informer := metadatainformer.NewFilteredMetadataInformer(client, namespacesResource, "", 0, cache.Indexers{}, nil).Informer()
	// It cannot fail before the informer runs.
	_ = informer.SetTransform(keepNameAndLabels)
	return &namespaceCache{informer: informer, client: client, log: log}
}

// keepNameAndLabels strips what the cache never reads (annotations, managedFields, owner
// references) before objects are stored.
func keepNameAndLabels(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok { // a tombstone of a deleted namespace
		return obj, nil
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta: m.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Labels: m.Labels, ResourceVersion: m.ResourceVersion,
		},
	}, nil
}

// run fills the cache and keeps it current until ctx is done.
func (c *namespaceCache) run(ctx context.Context) { c.informer.RunWithContext(ctx) }

func (c *namespaceCache) synced() bool { return c.informer.HasSynced() }

func (c *namespaceCache) namespace(ctx context.Context, name string) inject.Namespace {
	if name == "" {
		return inject.Namespace{}
	}
	if obj, ok, _ := c.informer.GetStore().GetByKey(name); ok {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			return inject.Namespace{Name: name, Labels: m.Labels, LabelsKnown: true}
		}
	}
	// Not cached: the namespace was created a moment ago and its watch event has not
	// arrived yet. Ask the API server rather than inject the pod as if it had no labels.
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	m, err := c.client.Resource(namespacesResource).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		c.log.Warn("namespace labels unknown", "namespace", name, "error", err.Error())
		return inject.Namespace{Name: name}
	}
	return inject.Namespace{Name: name, Labels: m.Labels, LabelsKnown: true}
}
