package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/internal/audit"
)

// owners finds each pod's top owner, as the audit does, and what the planner must know
// of it, reading each owner once.
type owners struct {
	client   kubernetes.Interface
	resolver *audit.Resolver
	facts    map[Ref]Owner
}

func newOwners(client kubernetes.Interface) *owners {
	get := func(ctx context.Context, ref audit.Ref) (metav1.Object, error) {
		if ref.Kind == "Job" {
			return client.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		}
		return client.AppsV1().ReplicaSets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	}
	return &owners{client: client, resolver: audit.NewResolver(get), facts: map[Ref]Owner{}}
}

// of returns pod's top owner: the pod itself when nothing controls it.
func (o *owners) of(ctx context.Context, pod *corev1.Pod) (Owner, error) {
	top, err := o.resolver.Owner(ctx, pod)
	if err != nil {
		return Owner{}, err
	}
	ref := Ref(top)
	if ref.Is("", "Pod") {
		return markPaused(Owner{Ref: ref}, pod.Annotations), nil
	}
	if f, ok := o.facts[ref]; ok {
		return f, nil
	}
	f, err := o.read(ctx, ref)
	if err != nil {
		return Owner{}, err
	}
	o.facts[ref] = f
	return f, nil
}

// OwnerOf returns the top of pod's controller chain, with its pause and update
// strategy: the pod itself when nothing controls it.
func OwnerOf(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod) (Owner, error) {
	return newOwners(client).of(ctx, pod)
}

// read reads an owner's pause and update strategy. A kind Tandem does not know, or an
// owner gone since, is taken as neither paused nor OnDelete; the planner decides what
// to do with its pods.
func (o *owners) read(ctx context.Context, ref Ref) (Owner, error) {
	f := Owner{Ref: ref, CronJob: ref.Is("batch", "CronJob")}
	var obj metav1.Object
	var err error
	ns, name, opts := ref.Namespace, ref.Name, metav1.GetOptions{}
	switch {
	case ref.Is("apps", "Deployment"):
		var d *appsv1.Deployment
		if d, err = o.client.AppsV1().Deployments(ns).Get(ctx, name, opts); err == nil {
			obj, f.Replicas = d, replicas(d.Spec.Replicas)
		}
	case ref.Is("apps", "StatefulSet"):
		var s *appsv1.StatefulSet
		if s, err = o.client.AppsV1().StatefulSets(ns).Get(ctx, name, opts); err == nil {
			obj, f.OnDelete, f.Replicas = s, s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType, replicas(s.Spec.Replicas)
		}
	case ref.Is("apps", "DaemonSet"):
		var d *appsv1.DaemonSet
		if d, err = o.client.AppsV1().DaemonSets(ns).Get(ctx, name, opts); err == nil {
			obj, f.OnDelete, f.Replicas = d, d.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType, int(d.Status.DesiredNumberScheduled)
		}
	case ref.Is("apps", "ReplicaSet"):
		var r *appsv1.ReplicaSet
		if r, err = o.client.AppsV1().ReplicaSets(ns).Get(ctx, name, opts); err == nil {
			obj, f.Replicas = r, replicas(r.Spec.Replicas)
		}
	case ref.Is("", "ReplicationController"):
		var r *corev1.ReplicationController
		if r, err = o.client.CoreV1().ReplicationControllers(ns).Get(ctx, name, opts); err == nil {
			obj, f.Replicas = r, replicas(r.Spec.Replicas)
		}
	case ref.Is("batch", "Job"):
		obj, err = o.client.BatchV1().Jobs(ns).Get(ctx, name, opts)
	case ref.Is("batch", "CronJob"):
		obj, err = o.client.BatchV1().CronJobs(ns).Get(ctx, name, opts)
	default:
		return f, nil
	}
	switch {
	case apierrors.IsNotFound(err):
		return f, nil
	case err != nil:
		return Owner{}, fmt.Errorf("reading %s %s/%s: %w", ref.Kind, ns, name, err)
	}
	return markPaused(f, obj.GetAnnotations()), nil
}

// replicas is a spec's replicas: 1 when unset, as the API server defaults it.
func replicas(n *int32) int {
	if n == nil {
		return 1
	}
	return int(*n)
}

// markPaused marks an owner paused by its annotations.
func markPaused(o Owner, annotations map[string]string) Owner {
	if annotations[PauseKey] == PauseValue {
		o.Paused, o.PausedBy = true, kindName(o.Ref)+" "+o.Name
	}
	return o
}

// group is the API group of a reference.
func group(r Ref) string {
	gv, _ := schema.ParseGroupVersion(r.APIVersion)
	return gv.Group
}
