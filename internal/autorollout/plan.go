package autorollout

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/internal/audit"
	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
	"github.com/tandem-io/tandem/internal/rollout"
)

// Actions, as the metrics name them.
const (
	actionInPlace = "in-place"
	actionRestart = "restart"
)

// plan reads the pods the view finds outdated (and those missing sidecars, when
// Missing) and plans them. Only those pods are read whole, and each only when it changed
// since the last pass: the view's metadata is enough to tell the others are current.
func (c *Controller) plan(ctx context.Context, view audit.View, cfg *config.Config, cl rollout.Cluster) (*rollout.Plan, error) {
	p := rollout.NewPlanner(c.opts.Client, cfg, cl, rollout.Selection{})
	seen := map[types.UID]bool{}
	for _, m := range view.Pods() {
		if m.DeletionTimestamp != nil {
			continue
		}
		ns := view.Namespace(m.Namespace)
		if !c.needs(view, m, ns, cfg) {
			continue
		}
		pod, err := c.read(ctx, m)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		seen[pod.UID] = true
		paused := view.NamespaceAnnotations(m.Namespace)[rollout.PauseKey] == rollout.PauseValue
		if err := p.Add(ctx, pod, ns, paused); err != nil {
			return nil, err
		}
	}
	for uid := range c.pods {
		if !seen[uid] {
			delete(c.pods, uid)
		}
	}
	for uid, v := range c.verdicts {
		if v.pass != c.passes {
			delete(c.verdicts, uid)
		}
	}
	return p.Plan(), nil
}

// verdict is whether a pod needs the controller, and what that was decided on.
type verdict struct {
	pod, namespace, config string
	needs                  bool
	// pass is the last pass that saw the pod.
	pass int
}

// needs says whether the pod m is outdated, or lacks a sidecar and Missing is on. The
// answer is kept until the pod, its namespace or the configuration changes: reading
// the status annotation is most of a pass's work, and most pods do not change between
// two passes.
func (c *Controller) needs(view audit.View, m *metav1.PartialObjectMetadata, ns inject.Namespace, cfg *config.Config) bool {
	v := verdict{pod: m.ResourceVersion, namespace: view.NamespaceVersion(m.Namespace), config: cfg.SHA256, pass: c.passes}
	if old, ok := c.verdicts[m.UID]; ok && v.pod != "" && old.pod == v.pod && old.namespace == v.namespace && old.config == v.config {
		old.pass = c.passes
		c.verdicts[m.UID] = old
		return old.needs
	}
	a := inject.AuditPod(m.Labels, m.Annotations, ns, cfg)
	v.needs = len(a.Outdated) > 0 || c.opts.Missing && len(a.Missing) > 0
	c.verdicts[m.UID] = v
	return v.needs
}

// read returns the pod m is the metadata of: the copy read last time when its
// resourceVersion is the same.
func (c *Controller) read(ctx context.Context, m *metav1.PartialObjectMetadata) (*corev1.Pod, error) {
	if p, ok := c.pods[m.UID]; ok && p.ResourceVersion == m.ResourceVersion {
		return p, nil
	}
	p, err := c.opts.Client.CoreV1().Pods(m.Namespace).Get(ctx, m.Name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, err
		}
		return nil, fmt.Errorf("reading pod %s/%s: %w", m.Namespace, m.Name, err)
	}
	c.pods[p.UID] = p
	return p, nil
}

// next picks the step of this pass (see Settings.next). A restart waits for the owner's
// own rollout, and for Tandem's replicas to serve the configuration; an owner this
// leader restarted already for it, whose pods still need it, halts the rollout instead.
func (c *Controller) next(ctx context.Context, plan *rollout.Plan) (step, bool) {
	var replicas *string
	return c.opts.next(plan, func(owner rollout.Ref) bool {
		switch {
		case c.busy(ctx, owner):
			return true
		case c.restarted[owner] == c.digest:
			c.didNotTake(ctx, plan, owner)
			return true
		case c.failure != nil:
			return true // halted by the case above, for another owner
		}
		if replicas == nil {
			why := c.replicasServe(ctx)
			if why != "" && why != c.waiting {
				c.log.Info("restarts wait: "+why, "owner", owner.Namespace+"/"+owner.String())
			}
			c.waiting, replicas = why, &why
		}
		return *replicas != ""
	})
}

// busy says whether the owner is rolling out already (restarted by an earlier step, or
// by this controller's previous leader, or by its own team): its old pods are on their
// way out, and restarting it again would be double work.
func (c *Controller) busy(ctx context.Context, owner rollout.Ref) bool {
	if !rollout.RestartsThroughTemplate(owner) {
		return false
	}
	state, done, err := rollout.RolloutStatus(ctx, c.opts.Client, owner)
	switch {
	case err != nil:
		c.log.Debug("cannot read an owner's rollout; not restarting it now", "owner", owner.Namespace+"/"+owner.String(), "error", err.Error())
		return true
	case !done:
		c.log.Debug("waiting for an owner's own rollout before restarting it", "owner", owner.Namespace+"/"+owner.String(), "state", state)
		return true
	}
	return false
}
