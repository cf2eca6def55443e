package autorollout

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/rollout"
)

// Outlook is what a controller with given settings will do, as `tandem audit` shows it.
type Outlook struct {
	Settings Settings
	// Stopped says why nothing moves (paused, halted), "" when the controller is at work.
	Stopped string
	// Next is the step the controller takes next, "" when there is none.
	Next string
	// Owners says, per owner with outdated pods, what the controller does with them.
	Owners map[rollout.Ref]string
}

// Preview reads the pods of namespace ("" for all) as the controller would, and says
// what a controller with settings s, serving cfg, does next. pausedBy is why Tandem's own
// Deployment pauses it, or "".
func Preview(ctx context.Context, client kubernetes.Interface, cfg *config.Config, s Settings, namespace, pausedBy string) (*Outlook, error) {
	plan, err := rollout.Gather(ctx, client, cfg, rollout.Selection{Namespace: namespace})
	if err != nil {
		return nil, err
	}
	out := &Outlook{Settings: s, Owners: map[rollout.Ref]string{}}
	switch {
	case s.Paused:
		out.Stopped = "paused by --rollout-paused"
	case pausedBy != "":
		out.Stopped = "paused by " + rollout.PauseKey + " on Tandem's " + pausedBy
	default:
		out.Stopped, err = failedPod(ctx, client, namespace, cfg.SHA256)
		if err != nil {
			return nil, err
		}
	}
	for _, o := range plan.Owners {
		out.Owners[o.Owner] = s.intent(o)
	}
	busy := func(ref rollout.Ref) bool {
		if !rollout.RestartsThroughTemplate(ref) {
			return false
		}
		_, done, err := rollout.RolloutStatus(ctx, client, ref)
		return err != nil || !done
	}
	if st, ok := s.next(plan, busy); ok && out.Stopped == "" {
		out.Next = st.String()
	}
	return out, nil
}

// failedPod says which pod halts the rollout of the configuration digest, "" when none.
func failedPod(ctx context.Context, client kubernetes.Interface, namespace, digest string) (string, error) {
	list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("listing pods: %w", err)
	}
	for _, p := range list.Items {
		if p.Annotations[FailedKey] == digest {
			return haltedBy(p.Namespace, p.Name), nil
		}
	}
	return "", nil
}

// intent says what the controller does with an owner's pods that need something.
func (s Settings) intent(o rollout.OwnerPlan) string {
	var inPlace, restart, paused, manual, off int
	var why, restartWhy string
	for _, r := range o.Pods {
		action, ok := s.wants(r.PodPlan)
		switch {
		case r.Action == rollout.ActionManual:
			manual++
			why = r.Reason
		case r.Action == rollout.ActionPaused:
			paused++
			why = r.Reason
		case !ok:
			off++
		case action == actionInPlace:
			inPlace++
		default:
			restart++
			restartWhy = r.Reason
		}
	}
	switch {
	case restart > 0:
		return "the controller restarts it: " + restartWhy
	case inPlace > 0 && off == 0 && manual == 0:
		return fmt.Sprintf("the controller updates %s in place", plural(inPlace, "pod"))
	case inPlace > 0:
		return fmt.Sprintf("the controller updates %s in place; the rest is left to you", plural(inPlace, "pod"))
	case paused > 0:
		return why
	case manual > 0:
		return "left to you: " + why
	}
	return "left to you: the controller's settings do not allow it (" + s.String() + ")"
}
