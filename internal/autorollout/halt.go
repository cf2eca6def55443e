package autorollout

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/internal/audit"
	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/rollout"
)

// FailedKey is the pod annotation that records a failed rollout: its value is the
// digest of the configuration that failed on the pod. While a pod carries the digest of
// the configuration served, that configuration is rolled out no further.
const FailedKey = config.KeyPrefix + "rollout-failed"

// failure is the last failure of this leader.
type failure struct {
	digest    string
	namespace string
	name      string
	uid       types.UID
	// annotated: the pod carries FailedKey (the patch went through); seen: the view has
	// shown it, so that its absence later means someone removed it.
	annotated, seen bool
}

// fail records r's failure: an event, a log line, the pod's annotation, and the halt.
func (c *Controller) fail(ctx context.Context, r rollout.PodResult) {
	c.lastFail = time.Now()
	c.events.Event(c.podObject(r.PodPlan), corev1.EventTypeWarning, ReasonFailed, fmt.Sprintf("%s: %s (%s)", changes(r.PodPlan), r.Error, r.Outcome))
	if c.failure != nil && c.failure.digest == c.digest {
		return // halted already: one pod is the record
	}
	f := &failure{digest: c.digest, namespace: r.Namespace, name: r.Name, uid: r.UID}
	err := c.annotate(ctx, r.Namespace, r.Name, c.digest)
	f.annotated = err == nil
	c.failure = f
	retry := fmt.Sprintf("kubectl annotate pod -n %s %s %s-", r.Namespace, r.Name, FailedKey)
	if err != nil {
		retry = "restart the Tandem pod that leads (the annotation could not be written: " + err.Error() + ")"
	}
	c.log.Error("rollout halted: a pod did not take the configuration; nothing more of it is rolled out until it changes, or to retry: "+retry,
		"pod", r.Namespace+"/"+r.Name, "outcome", string(r.Outcome), "error", r.Error, "config", c.digest)
}

// annotate sets FailedKey on a pod to value; "" removes it.
func (c *Controller) annotate(ctx context.Context, namespace, name, value string) error {
	v := "null"
	if value != "" {
		v = fmt.Sprintf("%q", value)
	}
	body := fmt.Sprintf(`{"metadata":{"annotations":{%q:%s}}}`, FailedKey, v)
	_, err := c.opts.Client.CoreV1().Pods(namespace).Patch(ctx, name, types.MergePatchType, []byte(body), metav1.PatchOptions{})
	return err
}

// tidy removes the failure records of configurations no longer served: a new
// configuration is tried on every pod again.
func (c *Controller) tidy(ctx context.Context, view audit.View) {
	for _, m := range view.Pods() {
		v, ok := m.Annotations[FailedKey]
		if !ok || v == c.digest || m.DeletionTimestamp != nil {
			continue
		}
		if err := c.annotate(ctx, m.Namespace, m.Name, ""); err != nil && !apierrors.IsNotFound(err) {
			c.log.Warn("cannot remove the failure record of an earlier configuration", "pod", m.Namespace+"/"+m.Name, "error", err.Error())
		}
	}
}

// stopped says why the pass takes no step, "" when it may: paused by the flag or on
// Tandem's own Deployment, or halted after a failure.
func (c *Controller) stopped(ctx context.Context, view audit.View) (why string, halted bool) {
	if c.opts.Paused {
		return "paused by --rollout-paused", false
	}
	if why := c.selfPaused(ctx); why != "" {
		return why, false
	}
	why = c.halted(view)
	return why, why != ""
}

// halted says why the configuration served is halted, "" when it is not: a pod carries
// its failure record, or this leader saw a failure whose pod is gone since.
func (c *Controller) halted(view audit.View) string {
	f := c.failure
	if f != nil && f.digest != c.digest {
		c.failure, f = nil, nil
	}
	var exists bool
	for _, m := range view.Pods() {
		if m.Annotations[FailedKey] == c.digest {
			if f != nil && m.UID == f.uid {
				f.seen = true
			}
			return haltedBy(m.Namespace, m.Name)
		}
		exists = exists || f != nil && m.UID == f.uid
	}
	switch {
	case f == nil:
		return ""
	case f.seen && exists:
		c.log.Info("the failure record was removed from the pod; retrying the configuration", "pod", f.namespace+"/"+f.name, "config", c.digest)
		c.failure = nil
		return ""
	case !f.annotated:
		return fmt.Sprintf("halted: pod %s/%s did not take this configuration and was put back; change the configuration, or restart the Tandem pod that leads, to retry", f.namespace, f.name)
	}
	return fmt.Sprintf("halted: pod %s/%s did not take this configuration and is gone since; change the configuration, or restart the Tandem pod that leads, to retry", f.namespace, f.name)
}

// selfPaused says why Tandem's own Deployment pauses everything, "" when it does not.
// An error reading it stops the pass too: a pause must not be missed.
func (c *Controller) selfPaused(ctx context.Context) string {
	if c.opts.SelfName == "" {
		return ""
	}
	if c.self == nil {
		pod, err := c.opts.Client.CoreV1().Pods(c.opts.SelfNamespace).Get(ctx, c.opts.SelfName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			c.log.Info("not running in a pod of this cluster: only --rollout-paused pauses the whole rollout", "pod", c.opts.SelfNamespace+"/"+c.opts.SelfName)
			c.opts.SelfName = ""
			return ""
		}
		if err != nil {
			return "cannot read Tandem's own pod to check for a pause: " + err.Error()
		}
		c.self = pod
	}
	owner, err := rollout.OwnerOf(ctx, c.opts.Client, c.self)
	if err != nil {
		return "cannot read Tandem's own Deployment to check for a pause: " + err.Error()
	}
	if owner.Paused {
		return "paused by " + rollout.PauseKey + " on Tandem's " + owner.PausedBy
	}
	return ""
}

// haltedBy says that the failure record on pod namespace/name halts the rollout, and how
// to retry.
func haltedBy(namespace, name string) string {
	return fmt.Sprintf("halted: pod %s/%s did not take this configuration and was put back; change the configuration, or remove its annotation to retry (kubectl annotate pod -n %s %s %s-)",
		namespace, name, namespace, name, FailedKey)
}
