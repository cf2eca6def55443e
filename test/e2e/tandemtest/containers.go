package tandemtest

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ContainerStatus returns the status of a pod's container, init containers included.
func ContainerStatus(p *corev1.Pod, name string) (corev1.ContainerStatus, bool) {
	all := slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses)
	i := slices.IndexFunc(all, func(s corev1.ContainerStatus) bool { return s.Name == name })
	if i < 0 {
		return corev1.ContainerStatus{}, false
	}
	return all[i], true
}

// Container returns a pod's container, init containers included.
func Container(p *corev1.Pod, name string) (corev1.Container, bool) {
	all := slices.Concat(p.Spec.InitContainers, p.Spec.Containers)
	i := slices.IndexFunc(all, func(c corev1.Container) bool { return c.Name == name })
	if i < 0 {
		return corev1.Container{}, false
	}
	return all[i], true
}

// RunsImage says a pod is Ready with container specified as image and running it,
// Ready.
func RunsImage(container, image string) func(*corev1.Pod) bool {
	return func(p *corev1.Pod) bool {
		c, _ := Container(p, container)
		s, ok := ContainerStatus(p, container)
		return ok && c.Image == image && Ready(p) && s.Ready && s.State.Running != nil && s.Image == image
	}
}

// DescribeContainers is each container's image, readiness, restarts and state, for
// failure messages: "; proxy demo-proxy:v2 ready=true restarts=1 {…}".
func DescribeContainers(p *corev1.Pod) string {
	var b strings.Builder
	for _, s := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		fmt.Fprintf(&b, "; %s %s ready=%v restarts=%d %+v", s.Name, s.Image, s.Ready, s.RestartCount, s.State)
	}
	return b.String()
}
