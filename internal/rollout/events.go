package rollout

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// failedEventReasons are the reasons of the kubelet's warnings that a container will not
// run: its image cannot be pulled, or it cannot start, or it keeps crashing. A native
// sidecar whose new image cannot be pulled shows none of this in its status (the status
// keeps the old container's, terminated), only in events.
var failedEventReasons = []string{"Failed", "BackOff", "ErrImageNeverPull", "InspectFailed"}

// podEvents reads the pod's events, by name, with their counts.
func (a *applier) podEvents(ctx context.Context, pod *corev1.Pod) (map[string]int32, error) {
	list, err := a.client.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(pod.UID)).String()})
	if err != nil {
		return nil, fmt.Errorf("reading the pod's events: %w", err)
	}
	seen := map[string]int32{}
	for _, e := range list.Items {
		if e.InvolvedObject.UID == pod.UID {
			seen[e.Name] = e.Count
		}
	}
	return seen, nil
}

// failedEvent returns the first warning, new since t.events were read, that a container
// t waits for will not run.
func (a *applier) failedEvent(ctx context.Context, pod *corev1.Pod, t target) error {
	list, err := a.client.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(pod.UID)).String()})
	if err != nil {
		return nil // the pod's status alone decides, as without events
	}
	for _, e := range list.Items {
		if e.InvolvedObject.UID != pod.UID || e.Type != corev1.EventTypeWarning || !slices.Contains(failedEventReasons, e.Reason) {
			continue
		}
		if count, ok := t.events[e.Name]; ok && e.Count <= count {
			continue
		}
		for _, w := range t.containers {
			if e.InvolvedObject.FieldPath == w.fieldPath() {
				return fmt.Errorf("container %s: %s: %s", w.name, e.Reason, e.Message)
			}
		}
	}
	return nil
}

// fieldPath is how the kubelet's events name a container.
func (w want) fieldPath() string {
	if w.init {
		return "spec.initContainers{" + w.name + "}"
	}
	return "spec.containers{" + w.name + "}"
}
