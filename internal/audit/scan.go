package audit

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/pager"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

var (
	podsResource        = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	namespacesResource  = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	replicaSetsResource = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	jobsResource        = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
)

// UnfinishedPods is the field selector of the pods worth auditing: a pod that succeeded
// or failed runs nothing more, and Jobs keep theirs around long after.
const UnfinishedPods = "status.phase!=Succeeded,status.phase!=Failed"

// pageSize bounds each list response, so that a cluster's pods come in pages instead of
// one response of hundreds of megabytes.
const pageSize = 500

// Scan audits the pods of namespace (every namespace when empty) against cfg, and groups
// those with findings by owner. It reads metadata only: the pods', their namespaces', and
// that of the ReplicaSets and Jobs that own pods with findings.
func Scan(ctx context.Context, client metadata.Interface, cfg *config.Config, namespace string) (Report, error) {
	namespaces, err := namespaceLabels(ctx, client, namespace)
	if err != nil {
		return Report{}, err
	}
	var report Report
	var findings []Finding
	owners := NewResolver(metadataGetter(client))
	err = list(ctx, client.Resource(podsResource).Namespace(namespace), metav1.ListOptions{FieldSelector: UnfinishedPods},
		func(pod *metav1.PartialObjectMetadata) error {
			if pod.DeletionTimestamp != nil {
				return nil // on its way out
			}
			report.Audited++
			ns, ok := namespaces[pod.Namespace]
			if !ok { // created after the namespaces were listed
				ns = inject.Namespace{Name: pod.Namespace}
			}
			a := inject.AuditPod(pod.Labels, pod.Annotations, ns, cfg)
			if len(a.Missing) == 0 && len(a.Outdated) == 0 {
				return nil
			}
			owner, err := owners.Owner(ctx, pod)
			if err != nil {
				return err
			}
			findings = append(findings, Finding{Pod: pod.Name, Owner: owner, Missing: a.Missing, Outdated: a.Outdated})
			return nil
		})
	if err != nil {
		return Report{}, err
	}
	report.Owners = Group(findings)
	return report, nil
}

// namespaceLabels reads the labels of namespace, or of every namespace when it is empty.
func namespaceLabels(ctx context.Context, client metadata.Interface, namespace string) (map[string]inject.Namespace, error) {
	namespaces := map[string]inject.Namespace{}
	add := func(m *metav1.PartialObjectMetadata) error {
		namespaces[m.Name] = inject.Namespace{Name: m.Name, Labels: m.Labels, LabelsKnown: true}
		return nil
	}
	if namespace != "" {
		m, err := client.Resource(namespacesResource).Get(ctx, namespace, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading namespace %s: %w", namespace, err)
		}
		return namespaces, add(m)
	}
	if err := list(ctx, client.Resource(namespacesResource), metav1.ListOptions{}, add); err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	return namespaces, nil
}

// list calls each for every object. It asks for pages of pageSize, so that no single
// response is the whole cluster; when a continue token expires before the last page
// (a listing slower than the API server's compaction), client-go's pager lists again in
// one request rather than failing, as kubectl does.
func list(ctx context.Context, client metadata.ResourceInterface, opts metav1.ListOptions, each func(*metav1.PartialObjectMetadata) error) error {
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return client.List(ctx, opts)
	})
	p.PageSize = pageSize
	all, _, err := p.List(ctx, opts)
	if err != nil {
		return err
	}
	return meta.EachListItem(all, func(obj runtime.Object) error {
		m, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok {
			return fmt.Errorf("listing gave a %T, not object metadata", obj)
		}
		return each(m)
	})
}

// metadataGetter reads the metadata of a ReplicaSet or Job: all the resolver needs.
func metadataGetter(client metadata.Interface) Getter {
	return func(ctx context.Context, ref Ref) (metav1.Object, error) {
		resource := replicaSetsResource
		if ref.Kind == "Job" {
			resource = jobsResource
		}
		return client.Resource(resource).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	}
}
