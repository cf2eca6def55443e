package autorollout

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/rollout"
)

// replicasServe says why a restart must wait for Tandem's own replicas, "" when it need
// not: every ready replica announces (ServedKey) the configuration being rolled out, and
// did at the last check too, so that the Service has caught up with a replica just
// ready. A pod a restart creates is admitted by whichever replica the API server reaches;
// one still on the previous configuration would inject that one, and the owner would
// need restarting again. Outside a pod, there is no one to ask, and no wait.
func (c *Controller) replicasServe(ctx context.Context) string {
	if c.self == nil {
		return ""
	}
	why := c.replicasBehind(ctx)
	switch {
	case why != "":
		c.servedSince = ""
	case c.servedSince != c.digest:
		c.servedSince = c.digest
		why = "every Tandem replica serves the configuration: waiting one interval for the Service to reach them all"
	}
	return why
}

// replicasBehind names a ready replica that does not serve the configuration, "" when
// every ready one does (and at least one is ready).
func (c *Controller) replicasBehind(ctx context.Context) string {
	pods, err := c.replicas(ctx)
	if err != nil {
		return "cannot read Tandem's replicas: " + err.Error()
	}
	ready := 0
	for _, p := range pods {
		if p.DeletionTimestamp != nil || !isReady(&p) {
			continue
		}
		ready++
		if got := p.Annotations[ServedKey]; got != c.digest {
			if got == "" {
				got = "an unannounced configuration"
			}
			return fmt.Sprintf("Tandem's replica %s serves %s, not the one being rolled out (%s)", p.Name, got, c.digest)
		}
	}
	if ready == 0 {
		return "no Tandem replica is ready"
	}
	return ""
}

// replicas lists the pods of Tandem's own Deployment (this one alone when it has none).
func (c *Controller) replicas(ctx context.Context) ([]corev1.Pod, error) {
	owner, err := rollout.OwnerOf(ctx, c.opts.Client, c.self)
	if err != nil {
		return nil, err
	}
	pods := c.opts.Client.CoreV1().Pods(c.self.Namespace)
	if !owner.Is("apps", "Deployment") {
		p, err := pods.Get(ctx, c.self.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return []corev1.Pod{*p}, nil
	}
	d, err := c.opts.Client.AppsV1().Deployments(owner.Namespace).Get(ctx, owner.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// didNotTake halts the rollout when an owner this leader restarted for the configuration
// still has pods that need it: the restart did not give its new pods the sidecars (the
// API server could not reach the webhook, or a replica served another configuration), and
// restarting it again would do the same.
func (c *Controller) didNotTake(ctx context.Context, plan *rollout.Plan, owner rollout.Ref) {
	for _, o := range plan.Owners {
		if o.Owner != owner || len(o.Pods) == 0 {
			continue
		}
		r := o.Pods[0]
		r.Outcome = rollout.OutcomeFailed
		r.Error = fmt.Sprintf("%s %s was restarted for this configuration and its new pods still do not carry it: the webhook did not inject them (is it reachable from the API server? does every replica serve this configuration?)", owner.Kind, owner.Name)
		c.counts[key{actionRestart, "failed"}]++
		c.fail(ctx, r)
		return
	}
}
