package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/internal/inject"
)

// change is one pod changed in place: what it was, to put it back, and what it is to be.
type change struct {
	result *PodResult
	pod    *corev1.Pod // as read just before the change
	// containers are the containers changed, as they were.
	containers []previous
	// resized are the containers whose resources changed.
	resized []string
	// events are the pod's before the change (see target.events).
	events map[string]int32
}

// previous is a container changed in place, with its image and resources before, and
// the status it had (whose container ID says when a new one runs).
type previous struct {
	Change
	index     int
	image     string
	resources corev1.ResourceRequirements
	status    corev1.ContainerStatus
}

// op is one operation of a JSON patch.
type op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// statusPath is the status annotation's JSON pointer: '/' in a key is written "~1".
var statusPath = "/metadata/annotations/" + strings.ReplaceAll(inject.StatusKey, "/", "~1")

// change applies r's changes to its pod: resources through the resize subresource, then
// the images together with the status annotation. Each patch first tests the containers'
// names and images as read, so that a pod changed meanwhile is not overwritten. A
// change whose second patch fails is returned with the error, to be put back.
func (a *applier) change(ctx context.Context, r *PodResult) (*change, error) {
	pods := a.client.CoreV1().Pods(r.Namespace)
	pod, err := pods.Get(ctx, r.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the pod: %w", err)
	}
	if pod.UID != r.UID {
		return nil, errors.New("the pod was recreated since it was planned")
	}
	events, err := a.podEvents(ctx, pod)
	if err != nil {
		return nil, err
	}
	c := &change{result: r, pod: pod, events: events}
	var resize, update []op
	for _, ch := range r.Changes {
		if ch.Image == "" && ch.Resources == nil {
			continue // nothing of the pod's spec: the status annotation says it
		}
		p, err := locate(pod, ch)
		if err != nil {
			return nil, err
		}
		c.containers = append(c.containers, p)
		at := p.path()
		if ch.Resources != nil {
			resize = append(resize, op{"test", at + "/name", ch.Container}, op{"replace", at + "/resources", ch.Resources})
			c.resized = append(c.resized, ch.Container)
		}
		if ch.Image != "" {
			update = append(update, op{"test", at + "/name", ch.Container}, op{"test", at + "/image", p.image}, op{"replace", at + "/image", ch.Image})
		}
	}
	if r.Status != "" {
		update = append(update, statusOp(pod, r.Status)...)
	}
	if len(resize) > 0 {
		if err := patch(ctx, a, pod, resize, "resize"); err != nil {
			return nil, fmt.Errorf("resizing: %w", err)
		}
	}
	if len(update) > 0 {
		if err := patch(ctx, a, pod, update); err != nil {
			if len(resize) > 0 {
				return c, fmt.Errorf("patching the pod: %w", err)
			}
			return nil, fmt.Errorf("patching the pod: %w", err)
		}
	}
	return c, nil
}

// locate finds the container ch changes in pod.
func locate(pod *corev1.Pod, ch Change) (previous, error) {
	list, statuses := pod.Spec.Containers, pod.Status.ContainerStatuses
	if ch.Init {
		list, statuses = pod.Spec.InitContainers, pod.Status.InitContainerStatuses
	}
	for i, c := range list {
		if c.Name != ch.Container {
			continue
		}
		p := previous{Change: ch, index: i, image: c.Image, resources: c.Resources}
		for _, s := range statuses {
			if s.Name == c.Name {
				p.status = s
			}
		}
		return p, nil
	}
	return previous{}, fmt.Errorf("the pod has no container %q to change", ch.Container)
}

func (p previous) path() string {
	if p.Init {
		return fmt.Sprintf("/spec/initContainers/%d", p.index)
	}
	return fmt.Sprintf("/spec/containers/%d", p.index)
}

// statusOp sets the status annotation to value; "" removes it.
func statusOp(pod *corev1.Pod, value string) []op {
	_, had := pod.Annotations[inject.StatusKey]
	switch {
	case value == "" && had:
		return []op{{Op: "remove", Path: statusPath}}
	case value == "":
		return nil
	case pod.Annotations == nil:
		return []op{{"add", "/metadata/annotations", map[string]string{inject.StatusKey: value}}}
	}
	return []op{{"add", statusPath, value}}
}

func patch(ctx context.Context, a *applier, pod *corev1.Pod, ops []op, subresource ...string) error {
	data, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	_, err = a.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.JSONPatchType, data, metav1.PatchOptions{}, subresource...)
	return err
}

// target is what the pod must show once changed.
func (c *change) target() target {
	t := target{failFast: true, resized: c.resized, events: c.events}
	for _, p := range c.containers {
		if p.Image != "" {
			t.containers = append(t.containers, want{name: p.Container, init: p.Init, image: p.Image, notID: p.status.ContainerID})
		}
	}
	return t
}

// rollback puts a pod changed in place back as it was, after cause, and waits for it
// to be Ready again. It records the outcome and the cause.
func (a *applier) rollback(c *change, cause error) {
	r := c.result
	r.Outcome, r.Error = OutcomeFailed, cause.Error()
	ctx, cancel := a.step()
	defer cancel()
	pod, err := a.client.CoreV1().Pods(c.pod.Namespace).Get(ctx, c.pod.Name, metav1.GetOptions{})
	if err != nil {
		r.Error += fmt.Sprintf("; not put back: %v", err)
		return
	}
	var resize, update []op
	back := target{resized: c.resized}
	for _, p := range c.containers {
		at := p.path()
		if p.Resources != nil {
			resize = append(resize, op{"test", at + "/name", p.Container}, op{"replace", at + "/resources", p.resources})
		}
		if p.Image != "" {
			update = append(update, op{"test", at + "/name", p.Container}, op{"replace", at + "/image", p.image})
			back.containers = append(back.containers, want{name: p.Container, init: p.Init, image: p.image})
		}
	}
	if r.Status != "" {
		update = append(update, statusOp(pod, c.pod.Annotations[inject.StatusKey])...)
	}
	if len(resize) > 0 {
		err = patch(ctx, a, pod, resize, "resize")
	}
	if err == nil && len(update) > 0 {
		err = patch(ctx, a, pod, update)
	}
	if err == nil {
		err = a.await(ctx, pod.Namespace, pod.Name, back)
	}
	if err != nil {
		r.Error += fmt.Sprintf("; putting it back failed: %v", err)
		return
	}
	r.Outcome = OutcomeRolledBack
}
