package rollout

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// PlanPod decides what a rollout does to pod. It reads nothing but its arguments.
func PlanPod(pod *corev1.Pod, ns inject.Namespace, owner Owner, cfg *config.Config, cl Cluster) PodPlan {
	return PodPlan{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, Owner: owner.Ref, Action: ActionNone}
}
