package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// target is what a pod must show for a step to be done.
type target struct {
	containers []want
	// resized are containers whose resources in status must be those of their spec,
	// with no resize pending or in progress.
	resized []string
	// failFast fails at the first sign that the containers will not run (an image that
	// cannot be pulled, a crash loop); a rollback waits through them instead, since the
	// kubelet shows them until it acts on the spec put back.
	failFast bool
	// events are the pod's events before the change, by name, with their counts: a
	// warning about a changed container that is new since is a sign too.
	events map[string]int32
}

// want is a container that must run image, Ready, in another container than notID.
type want struct {
	name  string
	init  bool
	image string
	notID string
}

// fatalReasons are the waiting reasons of a container that will not run without a
// change of its spec (or not soon: a crash loop).
var fatalReasons = []string{"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "CrashLoopBackOff", "CreateContainerConfigError"}

// await polls the pod until it shows t, and still does one probe period later (see
// settle), or fails.
func (a *applier) await(ctx context.Context, namespace, name string, t target) error {
	var last string
	var since time.Time // when the pod first showed t, in the current run of reads that do
	err := wait.PollUntilContextCancel(ctx, a.opts.Poll, true, func(ctx context.Context) (bool, error) {
		pod, err := a.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("reading the pod: %w", err)
		}
		var fatal error
		if last, fatal = t.check(pod); fatal == nil && last != "" && t.events != nil {
			fatal = a.failedEvent(ctx, pod, t)
		}
		switch {
		case fatal != nil || last != "":
			since = time.Time{}
			return false, fatal
		case since.IsZero():
			since = time.Now()
		}
		if settle := t.settle(pod); time.Since(since) < settle {
			last = fmt.Sprintf("Ready, and to stay so for %s", settle)
			return false, nil
		}
		return true, nil
	})
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("not done within %s: %s", a.opts.Timeout, last)
	}
	return err
}

// settle is how long a restarted container must stay Ready to count as Ready: the longest
// period of its startup and readiness probes. Right after restarting a native sidecar,
// the kubelet can report it Ready before those probes have run on the new container, and
// then not Ready until they pass.
func (t target) settle(pod *corev1.Pod) time.Duration {
	var longest int32
	for _, w := range t.containers {
		for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
			if c.Name != w.name {
				continue
			}
			for _, p := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe} {
				if p != nil {
					longest = max(longest, p.PeriodSeconds)
				}
			}
		}
	}
	return time.Duration(longest) * time.Second
}

// check says what the pod still lacks ("" for nothing), or why it never will.
func (t target) check(pod *corev1.Pod) (string, error) {
	if pod.DeletionTimestamp != nil {
		return "", errors.New("the pod is being deleted")
	}
	for _, w := range t.containers {
		s, ok := containerStatus(pod, w.name, w.init)
		if !ok {
			return fmt.Sprintf("container %s has no status yet", w.name), nil
		}
		if s.State.Waiting != nil && t.failFast && slices.Contains(fatalReasons, s.State.Waiting.Reason) {
			return "", fmt.Errorf("container %s: %s: %s", w.name, s.State.Waiting.Reason, s.State.Waiting.Message)
		}
		switch {
		case !sameImage(s.Image, w.image):
			return fmt.Sprintf("container %s runs %s, not yet %s (%s)", w.name, s.Image, w.image, stateOf(s)), nil
		case s.ContainerID == w.notID || s.State.Running == nil:
			return fmt.Sprintf("container %s has not restarted yet (%s)", w.name, stateOf(s)), nil
		case s.Started != nil && !*s.Started || !s.Ready:
			return fmt.Sprintf("container %s is not Ready", w.name), nil
		}
	}
	if len(t.resized) > 0 {
		if msg, err := t.resize(pod); msg != "" || err != nil {
			return msg, err
		}
	}
	if !podReady(pod) {
		return "the pod is not Ready", nil
	}
	return "", nil
}

// resize says whether the resources of the pod's spec are those its containers run with.
func (t target) resize(pod *corev1.Pod) (string, error) {
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.PodResizePending && c.Type != corev1.PodResizeInProgress || c.Status != corev1.ConditionTrue {
			continue
		}
		if c.Type == corev1.PodResizePending && c.Reason == corev1.PodReasonInfeasible && t.failFast {
			return "", fmt.Errorf("the node cannot give the new resources: %s", c.Message)
		}
		return fmt.Sprintf("resize %s (%s)", strings.TrimPrefix(string(c.Type), "PodResize"), c.Reason), nil
	}
	specs := map[string]corev1.ResourceRequirements{}
	for _, c := range append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...) {
		specs[c.Name] = c.Resources
	}
	for _, s := range append(slices.Clone(pod.Status.InitContainerStatuses), pod.Status.ContainerStatuses...) {
		if slices.Contains(t.resized, s.Name) && s.Resources != nil && !sameCPUAndMemory(specs[s.Name], *s.Resources) {
			return fmt.Sprintf("container %s does not run with its new resources yet", s.Name), nil
		}
	}
	return "", nil
}

// sameCPUAndMemory compares what the kubelet reports of a container's resources: CPU and
// memory.
func sameCPUAndMemory(spec, status corev1.ResourceRequirements) bool {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		for _, lists := range [][2]corev1.ResourceList{{spec.Requests, status.Requests}, {spec.Limits, status.Limits}} {
			a, aok := lists[0][name]
			b, bok := lists[1][name]
			if aok != bok || aok && a.Cmp(b) != 0 {
				return false
			}
		}
	}
	return true
}

// stateOf says a container's state in a few words: "running", "waiting: ErrImagePull".
func stateOf(s corev1.ContainerStatus) string {
	switch {
	case s.State.Running != nil:
		return "running"
	case s.State.Waiting != nil:
		return "waiting: " + s.State.Waiting.Reason
	case s.State.Terminated != nil:
		return "terminated: " + s.State.Terminated.Reason
	}
	return "no state"
}

func containerStatus(pod *corev1.Pod, name string, init bool) (corev1.ContainerStatus, bool) {
	list := pod.Status.ContainerStatuses
	if init {
		list = pod.Status.InitContainerStatuses
	}
	i := slices.IndexFunc(list, func(s corev1.ContainerStatus) bool { return s.Name == name })
	if i < 0 {
		return corev1.ContainerStatus{}, false
	}
	return list[i], true
}

// sameImage says whether a container status's image is spec's. The runtime reports the
// name in full (docker.io/library/envoy:v1 for envoy:v1), and for an image pinned by
// digest it may report a tag or the digest alone: then the repository must be the same
// (the caller also requires a container started after the change, which runs the spec's
// image, whatever name the runtime gives it).
func sameImage(status, spec string) bool {
	if status == spec {
		return true
	}
	p, err := name.ParseReference(spec, name.WeakValidation)
	if err != nil {
		return false
	}
	_, digest := p.(name.Digest)
	if digest && strings.HasPrefix(status, "sha256:") {
		return true // the image's ID
	}
	s, err := name.ParseReference(status, name.WeakValidation)
	if err != nil {
		return false
	}
	return s.Context().Name() == p.Context().Name() && (s.Identifier() == p.Identifier() || digest)
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
