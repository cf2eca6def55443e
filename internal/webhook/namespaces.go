package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/singleflight"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/tandem-io/tandem/internal/inject"
)

// namespaceSource tells the engine what it needs of a pod's namespace: its labels, which
// carry the namespace's default sidecars and which sidecars' namespaces selectors match.
// An error means the labels could not be read: the pod cannot be judged, and the call
// must fail so that the webhook entry's failurePolicy decides, never be answered as if
// the namespace asked for nothing.
type namespaceSource interface {
	namespace(ctx context.Context, name string) (inject.Namespace, error)
}

// noCluster is the source when Tandem runs without a cluster: labels are never known, so
// namespace defaults do not apply and namespace-restricted sidecars are denied. That is
// a mode the operator chose (no --kubeconfig, not in a pod), said once at start.
type noCluster struct{}

func (noCluster) namespace(_ context.Context, name string) (inject.Namespace, error) {
	return inject.Namespace{Name: name}, nil
}

var namespacesResource = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

const (
	// lookupTimeout bounds asking the API server for a namespace the cache does not have
	// yet; the API server gives the whole admission call 10 s by default.
	lookupTimeout = 2 * time.Second
	// maxLookups bounds the lookups in flight. A lookup is one GET of one namespace's
	// metadata (about a millisecond), so this allows thousands a second, while a flood of
	// reviews naming made-up namespaces cannot pile up connections to the API server.
	maxLookups = 8
)

// namespaceCache keeps the labels of every namespace in memory. It lists and watches the
// namespaces' metadata only (never their spec or status) and keeps only name and labels
// of that, so a cluster with thousands of namespaces costs a few hundred kilobytes.
type namespaceCache struct {
	informer cache.SharedIndexInformer
	// lookups asks the API server for namespaces the cache does not have. It is a client
	// of its own, without client-go's client-side rate limiter: with a shared 5 qps limiter,
	// anyone able to send reviews naming made-up namespaces could use up the tokens, and
	// the lookup of a real, new namespace would then time out. Concurrency is bounded by
	// slots instead, and the API server's own priority and fairness applies.
	lookups metadata.Interface
	slots   chan struct{}
	flight  singleflight.Group
	log     *slog.Logger
}

// newNamespaceCacheForConfig connects a namespace cache to the cluster: the informer
// through a client with client-go's default limits, lookups through an unlimited one.
func newNamespaceCacheForConfig(cluster *rest.Config, log *slog.Logger) (*namespaceCache, error) {
	watch, err := metadata.NewForConfig(cluster)
	if err != nil {
		return nil, err
	}
	unlimited := rest.CopyConfig(cluster)
	unlimited.QPS, unlimited.Burst, unlimited.RateLimiter = -1, 0, nil // QPS < 0: no client-side limiter
	lookups, err := metadata.NewForConfig(unlimited)
	if err != nil {
		return nil, err
	}
	return newNamespaceCache(watch, lookups, log), nil
}

func newNamespaceCache(watch, lookups metadata.Interface, log *slog.Logger) *namespaceCache {
	informer := metadatainformer.NewFilteredMetadataInformer(watch, namespacesResource, "", 0, cache.Indexers{}, nil).Informer()
	// It cannot fail before the informer runs.
	_ = informer.SetTransform(keepNameAndLabels)
	return &namespaceCache{informer: informer, lookups: lookups, slots: make(chan struct{}, maxLookups), log: log}
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

func (c *namespaceCache) namespace(ctx context.Context, name string) (inject.Namespace, error) {
	if name == "" {
		return inject.Namespace{}, nil
	}
	if obj, ok, _ := c.informer.GetStore().GetByKey(name); ok {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			return inject.Namespace{Name: name, Labels: m.Labels, LabelsKnown: true}, nil
		}
	}
	// Not cached: the namespace was created a moment ago and its watch event has not
	// arrived yet. Ask the API server, once for all the pods of that namespace arriving
	// together (a new Deployment scaled up).
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	ch := c.flight.DoChan(name, func() (any, error) { return c.lookup(name) })
	select {
	case r := <-ch:
		if r.Err != nil {
			c.log.Warn("namespace labels unknown; the admission call fails", "namespace", name, "error", r.Err.Error())
			return inject.Namespace{}, r.Err
		}
		return inject.Namespace{Name: name, Labels: r.Val.(map[string]string), LabelsKnown: true}, nil
	case <-ctx.Done():
		err := fmt.Errorf("the labels of namespace %q could not be read from the API server within %s", name, lookupTimeout)
		c.log.Warn("namespace labels unknown; the admission call fails", "namespace", name, "error", err.Error())
		return inject.Namespace{}, err
	}
}

// lookup reads one namespace's labels from the API server. It runs apart from the
// requests that wait for it (singleflight), so it has its own deadline.
func (c *namespaceCache) lookup(name string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return nil, fmt.Errorf("the labels of namespace %q could not be read: %d lookups of other namespaces were in flight for %s", name, maxLookups, lookupTimeout)
	}
	m, err := c.lookups.Resource(namespacesResource).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("namespace %q does not exist (the API server never sends a pod of a namespace that does not exist)", name)
	case err != nil:
		return nil, fmt.Errorf("reading the labels of namespace %q: %w", name, err)
	}
	return m.Labels, nil
}
