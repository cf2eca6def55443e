package autorollout

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/rollout"
)

// Event reasons.
const (
	ReasonUpdated = "SidecarUpdated"
	ReasonRestart = "SidecarRestart"
	ReasonFailed  = "SidecarUpdateFailed"
)

// apply is rollout.Apply; tests of the controller's decisions give their own.
var apply = rollout.Apply

// run carries out a step with the CLI's Apply (its waits, its stop-and-restore), and
// records each pod's outcome: events, counts, and the failure that halts the rollout.
func (c *Controller) run(ctx context.Context, s step) {
	plan := &rollout.Plan{Owners: []rollout.OwnerPlan{s.owner}}
	opts := rollout.Options{MaxUnavailable: c.opts.MaxUnavailable, Timeout: c.opts.Timeout, Restart: s.restart, Poll: c.opts.Poll}
	_ = apply(ctx, c.opts.Client, plan, opts) // each pod's outcome says what happened
	o := plan.Owners[0]
	restarted := 0
	for _, r := range o.Pods {
		action := actionInPlace
		if s.restart {
			action = actionRestart
		}
		if r.Outcome != "" && r.Outcome != rollout.OutcomeNotStarted {
			c.moved[r.UID] = true
		}
		switch r.Outcome {
		case rollout.OutcomeUpdated:
			c.counts[key{action, "done"}]++
			c.events.Event(c.podObject(r.PodPlan), corev1.EventTypeNormal, ReasonUpdated, changes(r.PodPlan))
			c.log.Info("pod updated in place", "pod", r.Namespace+"/"+r.Name, "changes", changes(r.PodPlan), "config", c.digest)
		case rollout.OutcomeRestarted:
			c.counts[key{action, "done"}]++
			restarted++
		case rollout.OutcomeFailed, rollout.OutcomeRolledBack:
			c.counts[key{action, "failed"}]++
			c.fail(ctx, r)
		}
	}
	if restarted > 0 {
		c.restarted(ctx, o)
	}
}

// restarted tells of an owner restarted, with the changes that made it necessary.
func (c *Controller) restarted(ctx context.Context, o rollout.OwnerPlan) {
	seen := map[string]bool{}
	var why []string
	for _, r := range o.Pods {
		for _, ch := range r.Changes {
			if s := ch.String(); !seen[s] {
				seen[s] = true
				why = append(why, s)
			}
		}
	}
	msg := fmt.Sprintf("restarted %d pods for their sidecars: %s", len(o.Pods), strings.Join(why, "; "))
	c.events.Event(c.ownerObject(ctx, o.Owner), corev1.EventTypeNormal, ReasonRestart, msg)
	c.log.Info("owner restarted", "owner", o.Owner.Namespace+"/"+o.Owner.String(), "pods", len(o.Pods), "changes", strings.Join(why, "; "), "config", c.digest)
}

// changes is a pod's changes on one line.
func changes(p rollout.PodPlan) string {
	s := make([]string, len(p.Changes))
	for i, ch := range p.Changes {
		s[i] = ch.String()
	}
	return strings.Join(s, "; ")
}

// podObject is the pod a plan is of, as read when planned, for its events.
func (c *Controller) podObject(p rollout.PodPlan) *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}
}

// ownerObject is an owner for its events; its UID, which `kubectl describe` matches
// events by, is read from the cluster (without it, the event still names the owner).
func (c *Controller) ownerObject(ctx context.Context, ref rollout.Ref) *corev1.ObjectReference {
	obj := &corev1.ObjectReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name}
	apps, get := c.opts.Client.AppsV1(), metav1.GetOptions{}
	var m metav1.Object
	var err error
	switch {
	case ref.Is("apps", "Deployment"):
		m, err = apps.Deployments(ref.Namespace).Get(ctx, ref.Name, get)
	case ref.Is("apps", "StatefulSet"):
		m, err = apps.StatefulSets(ref.Namespace).Get(ctx, ref.Name, get)
	case ref.Is("apps", "DaemonSet"):
		m, err = apps.DaemonSets(ref.Namespace).Get(ctx, ref.Name, get)
	case ref.Is("apps", "ReplicaSet"):
		m, err = apps.ReplicaSets(ref.Namespace).Get(ctx, ref.Name, get)
	case ref.Is("", "ReplicationController"):
		m, err = c.opts.Client.CoreV1().ReplicationControllers(ref.Namespace).Get(ctx, ref.Name, get)
	}
	if err == nil && m != nil {
		obj.UID = m.GetUID()
	}
	return obj
}
