// Package rollout brings running pods to the current sidecar definitions: day two of
// sidecar injection. The planner (PlanPod) is pure: from a pod, its namespace, its owner
// and the configuration it decides whether the pod is current, can be updated in place
// (a sidecar's image; its resources through the resize subresource), must be recreated
// through its owner, or must be left to a person, and says what differs. The cluster
// side lists pods and owners, applies in-place changes paced per owner, restarts owners
// through their own rollout, and waits for each step.
package rollout
