package rollout

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// evictAll evicts the owner's pods that need a restart, one at a time, each once its
// owner has replaced the one before: the Eviction API honours PodDisruptionBudgets,
// and the owner (a ReplicaSet or ReplicationController without a Deployment) creates a
// new pod for each one evicted, admitted with the current sidecars.
func (a *applier) evictAll(o *OwnerPlan) error {
	for i := range o.Pods {
		r := &o.Pods[i]
		if r.Action != ActionRestart {
			continue
		}
		if a.stopped() {
			return nil
		}
		if err := a.evictOne(o.Owner, r); err != nil {
			r.Outcome, r.Error = OutcomeFailed, err.Error()
			return err
		}
		r.Outcome = OutcomeRestarted
		a.progress.line(1, "%s %s/%s: pod %s evicted and replaced", kindName(o.Owner), o.Owner.Namespace, o.Owner.Name, r.Name)
	}
	return nil
}

// evictOne evicts a pod, retrying while a PodDisruptionBudget forbids it (429), and
// waits until its owner runs a new pod, Ready, in its place.
func (a *applier) evictOne(owner Ref, r *PodResult) error {
	ctx, cancel := a.step()
	defer cancel()
	selector, uid, err := a.ownerSelector(ctx, owner)
	if err != nil {
		return err
	}
	before, err := a.ownedPods(ctx, owner.Namespace, selector, uid)
	if err != nil {
		return err
	}
	eviction := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace},
		DeleteOptions: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &r.UID}}}
	var refusal error
	err = wait.PollUntilContextCancel(ctx, a.opts.Poll, true, func(ctx context.Context) (bool, error) {
		err := a.client.CoreV1().Pods(r.Namespace).EvictV1(ctx, eviction)
		switch {
		case err == nil, apierrors.IsNotFound(err), apierrors.IsConflict(err): // gone, or another pod by now
			return true, nil
		case apierrors.IsTooManyRequests(err):
			refusal = err
			return false, nil
		}
		return false, fmt.Errorf("evicting: %w", err)
	})
	if ctx.Err() != nil {
		return fmt.Errorf("not evicted within %s: %v", a.opts.Timeout, refusal)
	}
	if err != nil {
		return err
	}
	return a.awaitReplacement(ctx, owner, selector, uid, before)
}

// awaitReplacement waits for a Ready pod of the owner that was not among before.
func (a *applier) awaitReplacement(ctx context.Context, owner Ref, selector string, uid types.UID, before map[types.UID]bool) error {
	err := wait.PollUntilContextCancel(ctx, a.opts.Poll, true, func(ctx context.Context) (bool, error) {
		now, err := a.ownedPods(ctx, owner.Namespace, selector, uid)
		if err != nil {
			return false, err
		}
		for id, ready := range now {
			if _, old := before[id]; !old && ready {
				return true, nil
			}
		}
		return false, nil
	})
	if ctx.Err() != nil {
		return fmt.Errorf("no new pod of %s Ready within %s", owner, a.opts.Timeout)
	}
	return err
}

// ownerSelector reads the pod selector and UID of a ReplicaSet or ReplicationController.
func (a *applier) ownerSelector(ctx context.Context, owner Ref) (string, types.UID, error) {
	get := metav1.GetOptions{}
	if owner.Kind == "ReplicationController" {
		rc, err := a.client.CoreV1().ReplicationControllers(owner.Namespace).Get(ctx, owner.Name, get)
		if err != nil {
			return "", "", fmt.Errorf("reading %s: %w", owner, err)
		}
		return labels.SelectorFromSet(rc.Spec.Selector).String(), rc.UID, nil
	}
	rs, err := a.client.AppsV1().ReplicaSets(owner.Namespace).Get(ctx, owner.Name, get)
	if err != nil {
		return "", "", fmt.Errorf("reading %s: %w", owner, err)
	}
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return "", "", fmt.Errorf("%s's selector: %w", owner, err)
	}
	return sel.String(), rs.UID, nil
}

// ownedPods lists the pods the owner controls that are not being deleted, each with
// whether it is Ready.
func (a *applier) ownedPods(ctx context.Context, namespace, selector string, uid types.UID) (map[types.UID]bool, error) {
	list, err := a.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	pods := map[types.UID]bool{}
	for i := range list.Items {
		p := &list.Items[i]
		if c := metav1.GetControllerOfNoCopy(p); c != nil && c.UID == uid && p.DeletionTimestamp == nil {
			pods[p.UID] = p.Status.Phase == corev1.PodRunning && podReady(p)
		}
	}
	return pods, nil
}
