package autorollout

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tandem-io/tandem/internal/rollout"
)

// Settings are what the controller may do, and at what pace: the --rollout-* flags of
// tandem serve.
type Settings struct {
	// InPlace changes pods in place; Restart restarts the owners of pods whose changes
	// need a new pod; Missing restarts the owners of pods admitted without sidecars they
	// asked for.
	InPlace, Restart, Missing bool
	// MaxUnavailable is how many pods are changed in place at once, across the cluster:
	// the controller works on one owner at a time (a percentage is of that owner's pods).
	MaxUnavailable intstr.IntOrString
	// Interval is the pause between two steps, and how often the controller looks for
	// work.
	Interval time.Duration
	// Paused stops every change.
	Paused bool
}

// String is the settings for people: "in place, restarts off, missing off, 1 pod at a
// time, a step every 30s".
func (s Settings) String() string {
	onOff := func(on bool, what string) string {
		if on {
			return what + " on"
		}
		return what + " off"
	}
	parts := []string{onOff(s.InPlace, "in place"), onOff(s.Restart, "restarts"), onOff(s.Missing, "missing")}
	at := s.MaxUnavailable.String() + " of an owner's pods"
	if s.MaxUnavailable.Type == intstr.Int {
		at = plural(s.MaxUnavailable.IntValue(), "pod")
	}
	parts = append(parts, at+" at a time", "a step every "+s.Interval.String())
	if s.Paused {
		parts = append(parts, "paused by --rollout-paused")
	}
	return strings.Join(parts, ", ")
}

// wants says what the controller would do to a pod of the plan (paused ones included:
// what it would do once resumed), and whether the settings let it.
func (s Settings) wants(r rollout.PodPlan) (action string, ok bool) {
	inPlace, missing := true, false
	for _, ch := range r.Changes {
		inPlace = inPlace && ch.InPlace
		missing = missing || ch.Part == "sidecar" && ch.From == "missing"
	}
	restart := s.Restart || s.Missing && missing
	switch {
	case r.Action == rollout.ActionInPlace, r.Action == rollout.ActionPaused && inPlace:
		return actionInPlace, s.InPlace
	case r.Action == rollout.ActionRestart, r.Action == rollout.ActionPaused:
		return actionRestart, restart
	}
	return "", false
}

// step is what one pass does: a batch of an owner's pods changed in place, or the owner
// restarted (its pods replaced, the in-place ones too).
type step struct {
	owner   rollout.OwnerPlan
	restart bool
}

// next picks the step of a pass: the first owner, in the plan's order, with work the
// settings allow and, for a restart, no rollout of its own under way (busy).
func (s Settings) next(plan *rollout.Plan, busy func(rollout.Ref) bool) (step, bool) {
	for _, o := range plan.Owners {
		var inPlace, restart []rollout.PodResult
		for _, r := range o.Pods {
			action, ok := s.wants(r.PodPlan)
			switch {
			case !ok || r.Action == rollout.ActionPaused:
			case action == actionInPlace:
				inPlace = append(inPlace, r)
			default:
				restart = append(restart, r)
			}
		}
		if len(restart) > 0 && busy(o.Owner) {
			continue
		}
		// The plan holds only the outdated pods: a percentage is of all the owner's.
		total := max(o.Total, o.Replicas)
		owner := func(pods []rollout.PodResult) rollout.OwnerPlan {
			return rollout.OwnerPlan{Owner: o.Owner, Total: total, Replicas: o.Replicas, Pods: pods}
		}
		switch {
		case len(restart) > 0 && rollout.RestartsThroughTemplate(o.Owner):
			return step{owner: owner(append(restart, inPlace...)), restart: true}, true
		case len(inPlace) > 0:
			n := min(rollout.BatchSize(s.MaxUnavailable, total), len(inPlace))
			return step{owner: owner(inPlace[:n])}, true
		case len(restart) > 0:
			return step{owner: owner(restart), restart: true}, true
		}
	}
	return step{}, false
}

// String says the step for people: "Deployment shop/web: web-0 in place (proxy: image
// a → b)".
func (s step) String() string {
	names := make([]string, len(s.owner.Pods))
	for i, r := range s.owner.Pods {
		names[i] = r.Name
	}
	o := s.owner.Owner
	if s.restart {
		return fmt.Sprintf("%s %s/%s: restart (%s)", o.Kind, o.Namespace, o.Name, changes(s.owner.Pods[0].PodPlan))
	}
	return fmt.Sprintf("%s %s/%s: %s in place (%s)", o.Kind, o.Namespace, o.Name, strings.Join(names, ", "), changes(s.owner.Pods[0].PodPlan))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
