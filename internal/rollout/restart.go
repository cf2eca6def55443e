package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// RestartedAtKey is the pod-template annotation kubectl rollout restart sets: changing
// the template has the owner replace its pods by its own strategy.
const RestartedAtKey = "kubectl.kubernetes.io/restartedAt"

// RestartsThroughTemplate says whether the owner replaces its pods when its pod
// template changes.
func RestartsThroughTemplate(ref Ref) bool {
	return ref.Is("apps", "Deployment") || ref.Is("apps", "StatefulSet") || ref.Is("apps", "DaemonSet")
}

// restart recreates the owner's pods that need it: through the owner's template, or by
// evicting them one by one when the owner is a ReplicaSet or ReplicationController.
func (a *applier) restart(o *OwnerPlan) {
	var err error
	switch ref := o.Owner; {
	case RestartsThroughTemplate(ref):
		err = a.restartTemplate(ref)
		outcome := OutcomeRestarted
		if err != nil {
			outcome = OutcomeFailed
		}
		// The owner replaces every pod, the in-place ones included.
		n := 0
		for i := range o.Pods {
			if r := &o.Pods[i]; r.Action == ActionRestart || r.Action == ActionInPlace && r.Outcome == "" {
				n++
				r.Outcome = outcome
				if err != nil {
					r.Error = err.Error()
				}
			}
		}
		a.progress.line(n, "%s %s/%s: %s", kindName(ref), ref.Namespace, ref.Name, outcome)
	case ref.Is("apps", "ReplicaSet"), ref.Is("", "ReplicationController"):
		err = a.evictAll(o)
	default:
		err = fmt.Errorf("tandem cannot restart a %s", kindName(ref))
		for i := range o.Pods {
			if r := &o.Pods[i]; r.Action == ActionRestart {
				r.Outcome, r.Error = OutcomeFailed, err.Error()
			}
		}
	}
	if err != nil {
		a.failed.Store(true)
	}
}

// restartTemplate sets the restart annotation on the owner's pod template, and waits
// for its rollout to finish.
func (a *applier) restartTemplate(ref Ref) error {
	ctx := context.WithoutCancel(a.ctx)
	body := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, RestartedAtKey, time.Now().Format(time.RFC3339))
	apps := a.client.AppsV1()
	var err error
	opts := metav1.PatchOptions{}
	switch ref.Kind {
	case "Deployment":
		_, err = apps.Deployments(ref.Namespace).Patch(ctx, ref.Name, types.StrategicMergePatchType, []byte(body), opts)
	case "StatefulSet":
		_, err = apps.StatefulSets(ref.Namespace).Patch(ctx, ref.Name, types.StrategicMergePatchType, []byte(body), opts)
	case "DaemonSet":
		_, err = apps.DaemonSets(ref.Namespace).Patch(ctx, ref.Name, types.StrategicMergePatchType, []byte(body), opts)
	}
	if err != nil {
		return fmt.Errorf("restarting %s: %w", ref, err)
	}
	return a.awaitRollout(ctx, ref)
}

// awaitRollout waits until the owner's rollout is done, as kubectl rollout status
// decides it, for as long as it makes progress: the timeout runs from the last change
// of its status.
func (a *applier) awaitRollout(ctx context.Context, ref Ref) error {
	var last, state string
	changed := time.Now()
	err := wait.PollUntilContextCancel(ctx, a.opts.Poll, true, func(ctx context.Context) (bool, error) {
		var done bool
		var err error
		state, done, err = RolloutStatus(ctx, a.client, ref)
		if err != nil || done {
			return done, err
		}
		if state != last {
			last, changed = state, time.Now()
		}
		if time.Since(changed) > a.opts.Timeout {
			return false, fmt.Errorf("%s made no progress for %s: %s", ref, a.opts.Timeout, state)
		}
		return false, nil
	})
	return err
}

// RolloutStatus reads a Deployment, StatefulSet or DaemonSet and says where its rollout
// is, and whether it is done, as kubectl rollout status does.
func RolloutStatus(ctx context.Context, client kubernetes.Interface, ref Ref) (string, bool, error) {
	apps, get := client.AppsV1(), metav1.GetOptions{}
	switch ref.Kind {
	case "Deployment":
		d, err := apps.Deployments(ref.Namespace).Get(ctx, ref.Name, get)
		if err != nil {
			return "", false, err
		}
		return deploymentStatus(d)
	case "StatefulSet":
		s, err := apps.StatefulSets(ref.Namespace).Get(ctx, ref.Name, get)
		if err != nil {
			return "", false, err
		}
		state, done := statefulSetStatus(s)
		return state, done, nil
	case "DaemonSet":
		d, err := apps.DaemonSets(ref.Namespace).Get(ctx, ref.Name, get)
		if err != nil {
			return "", false, err
		}
		state, done := daemonSetStatus(d)
		return state, done, nil
	}
	return "", false, fmt.Errorf("no rollout status for a %s", ref.Kind)
}

// deploymentStatus is kubectl rollout status for a Deployment.
func deploymentStatus(d *appsv1.Deployment) (string, bool, error) {
	if d.Generation > d.Status.ObservedGeneration {
		return "waiting for the controller to see the change", false, nil
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return "", false, errors.New("the Deployment exceeded its progress deadline")
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	state := fmt.Sprintf("%d of %d pods updated, %d old left, %d available", s.UpdatedReplicas, want, s.Replicas-s.UpdatedReplicas, s.AvailableReplicas)
	return state, s.UpdatedReplicas >= want && s.Replicas <= s.UpdatedReplicas && s.AvailableReplicas >= s.UpdatedReplicas, nil
}

// statefulSetStatus is kubectl rollout status for a StatefulSet, its partition honoured.
func statefulSetStatus(s *appsv1.StatefulSet) (string, bool) {
	if s.Status.ObservedGeneration == 0 || s.Generation > s.Status.ObservedGeneration {
		return "waiting for the controller to see the change", false
	}
	want := int32(1)
	if s.Spec.Replicas != nil {
		want = *s.Spec.Replicas
	}
	st := s.Status
	state := fmt.Sprintf("%d of %d pods updated, %d ready", st.UpdatedReplicas, want, st.ReadyReplicas)
	if st.ReadyReplicas < want {
		return state, false
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		return state, st.UpdatedReplicas >= want-*ru.Partition
	}
	return state, st.UpdateRevision == st.CurrentRevision
}

// daemonSetStatus is kubectl rollout status for a DaemonSet.
func daemonSetStatus(d *appsv1.DaemonSet) (string, bool) {
	if d.Generation > d.Status.ObservedGeneration {
		return "waiting for the controller to see the change", false
	}
	st := d.Status
	state := fmt.Sprintf("%d of %d pods updated, %d available", st.UpdatedNumberScheduled, st.DesiredNumberScheduled, st.NumberAvailable)
	return state, st.UpdatedNumberScheduled >= st.DesiredNumberScheduled && st.NumberAvailable >= st.DesiredNumberScheduled
}
