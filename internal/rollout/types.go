package rollout

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Action is what a rollout does to a pod.
type Action string

const (
	// ActionNone: the pod carries the current definition of every sidecar it asked for.
	ActionNone Action = "none"
	// ActionInPlace: every difference is one a running pod accepts (an image; resources
	// through the resize subresource), or only the status annotation is behind.
	ActionInPlace Action = "in-place"
	// ActionRestart: the pod must be recreated, through its owner's own rollout or the
	// Eviction API.
	ActionRestart Action = "restart"
	// ActionManual: Tandem must not touch the pod; Reason says why and what to do.
	ActionManual Action = "manual"
	// ActionPaused: the pod's namespace or owner carries tandem.io/rollout: paused.
	ActionPaused Action = "paused"
)

// Ref names a Kubernetes object.
type Ref struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
}

// Is says whether r is a kind of a group; the version does not matter.
func (r Ref) Is(group, kind string) bool {
	gv, _ := schema.ParseGroupVersion(r.APIVersion)
	return r.Kind == kind && gv.Group == group
}

func (r Ref) String() string { return r.Kind + "/" + r.Name }

// Owner is what the planner needs to know of the top of a pod's controller chain (the
// Deployment, not its ReplicaSet; the pod itself when nothing controls it).
type Owner struct {
	Ref
	// Paused is true when the owner or its namespace carries tandem.io/rollout: paused;
	// PausedBy names which ("namespace shop", "Deployment web").
	Paused   bool
	PausedBy string
	// OnDelete is true for a StatefulSet or DaemonSet whose updateStrategy is OnDelete:
	// changing its template recreates nothing.
	OnDelete bool
	// CronJob is true for a Job a CronJob created.
	CronJob bool
	// Replicas is how many pods the owner wants (its spec's replicas; a DaemonSet's
	// desired count), 0 when unknown.
	Replicas int
}

// Cluster is what the planner needs to know of the cluster.
type Cluster struct {
	// NativeSidecars: the server runs init containers with restartPolicy Always.
	NativeSidecars bool
	// NativeSidecarImages: a running native sidecar takes a new image in place (the
	// kubelet restarts it with the new image).
	NativeSidecarImages bool
	// Resize: the server has the pods/resize subresource (in-place resize).
	Resize bool
}

// Change is one difference between what a pod carries and what the configuration would
// inject into it now.
type Change struct {
	Sidecar string `json:"sidecar"`
	// Part names what differs, as the status annotation records it: "container proxy",
	// "env HTTP_PROXY", "volume certs"; "sidecar" when the whole sidecar is missing or
	// no longer configured; "definition" when the record cannot tell (a pod injected
	// before per-part records).
	Part string `json:"part"`
	// Field is "image" or "resources" for an in-place change of a container, else "".
	Field string `json:"field,omitempty"`
	// From and To say the change for people: images, resources, "missing".
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// InPlace is true when a running pod accepts the change.
	InPlace bool `json:"inPlace"`
	// Why says why a change needs a new pod, when it is not plain from the change.
	Why string `json:"why,omitempty"`

	// For in-place changes: the container, whether it is an init container (a native
	// sidecar), and the new image or resources.
	Container string                       `json:"-"`
	Init      bool                         `json:"-"`
	Image     string                       `json:"-"`
	Resources *corev1.ResourceRequirements `json:"-"`
}

// String is the change on one line: "proxy: image envoy:v1.31.0 → envoy:v1.32.1".
func (c Change) String() string {
	what := c.Part
	if c.Field != "" {
		what = c.Field
		if c.Container != "" && c.Container != c.Sidecar {
			what = c.Container + " " + c.Field
		}
	}
	switch {
	case c.Part == "record":
		return c.Sidecar + ": definition changed, renders the same for this pod (the status annotation is updated)"
	case c.From != "" || c.To != "":
		return fmt.Sprintf("%s: %s %s → %s", c.Sidecar, what, orNone(c.From), orNone(c.To))
	default:
		return fmt.Sprintf("%s: %s changed", c.Sidecar, what)
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// PodPlan is the planner's decision for one pod.
type PodPlan struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	UID       types.UID `json:"uid"`
	Owner     Ref       `json:"owner"`
	Action    Action    `json:"action"`
	// Reason says why, for restart, manual and paused.
	Reason  string   `json:"reason,omitempty"`
	Changes []Change `json:"changes,omitempty"`
	// Status is the status annotation to write with the in-place changes, so that the pod
	// is seen as current afterwards; "" when the action is not in-place.
	Status string `json:"-"`
}
