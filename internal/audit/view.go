package audit

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/tandem-io/tandem/internal/inject"
)

// Task is work the leading replica does on the informers' View until ctx ends.
type Task func(ctx context.Context, view View)

// View is what the leader's informers hold: the metadata of unfinished pods, stripped to
// what Tandem reads (keepAuditFields), and of namespaces (keepNameAndTandemKeys). It
// reads the informers' stores, never the API server.
type View struct {
	pods, namespaces cache.Store
}

// NewView is a View of two stores of *metav1.PartialObjectMetadata, for tests.
func NewView(pods, namespaces cache.Store) View { return View{pods: pods, namespaces: namespaces} }

// Pods lists the pods held; a pod being deleted is included, with its DeletionTimestamp.
func (v View) Pods() []*metav1.PartialObjectMetadata {
	list := v.pods.List()
	out := make([]*metav1.PartialObjectMetadata, 0, len(list))
	for _, obj := range list {
		if p, ok := obj.(*metav1.PartialObjectMetadata); ok {
			out = append(out, p)
		}
	}
	return out
}

// Namespace is a namespace's labels as the engine reads them; unknown when not held.
func (v View) Namespace(name string) inject.Namespace {
	if ns := v.namespace(name); ns != nil {
		return inject.Namespace{Name: name, Labels: ns.Labels, LabelsKnown: true}
	}
	return inject.Namespace{Name: name}
}

// NamespaceAnnotations is a namespace's tandem.io/ annotations; nil when not held.
func (v View) NamespaceAnnotations(name string) map[string]string {
	if ns := v.namespace(name); ns != nil {
		return ns.Annotations
	}
	return nil
}

// NamespaceVersion is a namespace's resourceVersion, "" when not held: what a decision
// made on its labels can be cached against.
func (v View) NamespaceVersion(name string) string {
	if ns := v.namespace(name); ns != nil {
		return ns.ResourceVersion
	}
	return ""
}

func (v View) namespace(name string) *metav1.PartialObjectMetadata {
	obj, ok, _ := v.namespaces.GetByKey(name)
	if !ok {
		return nil
	}
	ns, _ := obj.(*metav1.PartialObjectMetadata)
	return ns
}
