package audit

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxChain bounds climbing controller references: Kubernetes' own chains are two steps
// (Pod → ReplicaSet → Deployment), and a loop written by a faulty controller must not
// hang the caller.
const maxChain = 4

// Getter reads the ReplicaSet or Job ref names, through whichever client the caller
// has (object metadata for the audit, typed objects for the rollout).
type Getter func(ctx context.Context, ref Ref) (metav1.Object, error)

// Resolver climbs a pod's controller references to the workload to act on. The audit
// and the rollout share it, so that both group pods under the same owners.
type Resolver struct {
	get Getter
	// parents caches the controller of each ReplicaSet and Job read (itself when it has
	// none, or is gone): the pods of one workload share them.
	parents map[Ref]Ref
}

// NewResolver returns a Resolver that reads ReplicaSets and Jobs with get.
func NewResolver(get Getter) *Resolver {
	return &Resolver{get: get, parents: map[Ref]Ref{}}
}

// Owner returns the top of pod's controller chain, climbing through ReplicaSets (to
// their Deployment) and Jobs (to their CronJob); a pod nothing controls is its own owner.
func (r *Resolver) Owner(ctx context.Context, pod metav1.Object) (Ref, error) {
	c := metav1.GetControllerOfNoCopy(pod)
	if c == nil {
		return Ref{APIVersion: "v1", Kind: "Pod", Namespace: pod.GetNamespace(), Name: pod.GetName()}, nil
	}
	ref := Ref{APIVersion: c.APIVersion, Kind: c.Kind, Namespace: pod.GetNamespace(), Name: c.Name}
	for range maxChain {
		if !ref.is("apps", "ReplicaSet") && !ref.is("batch", "Job") {
			return ref, nil
		}
		parent, err := r.parent(ctx, ref)
		if err != nil || parent == ref {
			return parent, err
		}
		ref = parent
	}
	return ref, nil
}

func (r *Resolver) parent(ctx context.Context, ref Ref) (Ref, error) {
	if p, ok := r.parents[ref]; ok {
		return p, nil
	}
	parent := ref
	m, err := r.get(ctx, ref)
	switch {
	case apierrors.IsNotFound(err):
		// Deleted since: its pods are being garbage-collected, and are what to act on.
	case err != nil:
		return Ref{}, fmt.Errorf("reading the %s %s/%s that controls pods: %w", ref.Kind, ref.Namespace, ref.Name, err)
	default:
		if c := metav1.GetControllerOfNoCopy(m); c != nil {
			parent = Ref{APIVersion: c.APIVersion, Kind: c.Kind, Namespace: ref.Namespace, Name: c.Name}
		}
	}
	r.parents[ref] = parent
	return parent, nil
}
