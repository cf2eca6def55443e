package rollout

import (
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var podsGVR = corev1.SchemeGroupVersion.WithResource("pods")

// kubelet plays a node's kubelet on the fake cluster: once a patch changes a container's
// image or resources, the container stops being Ready, and after a few reads of the pod
// it runs its spec, Ready, in a new container — unless its image starts with "bad:",
// which cannot be pulled. It keeps the most pods that were unready at once.
type kubelet struct {
	cs          *fake.Clientset
	mu          sync.Mutex
	pending     map[string]int // pod → reads left before it runs its spec
	generation  int
	maxUnready  int
	subresource []string // of each pod patch
	// flap has a restarted container show Ready once, then not Ready for a read, as the
	// kubelet may before a native sidecar's probes have run.
	flap     bool
	flapping map[string]bool // pod → flaps at its next read
	flapped  map[string]bool // pod → has flapped
}

func newKubelet(cs *fake.Clientset) *kubelet {
	k := &kubelet{cs: cs, pending: map[string]int{}, flapping: map[string]bool{}, flapped: map[string]bool{}}
	cs.PrependReactor("patch", "pods", k.patched)
	cs.PrependReactor("get", "pods", k.read)
	return k
}

func (k *kubelet) patched(action k8stesting.Action) (bool, runtime.Object, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.subresource = append(k.subresource, action.GetSubresource())
	_, obj, err := k8stesting.ObjectReaction(k.cs.Tracker())(action)
	if err != nil {
		return true, nil, err
	}
	for name, on := range k.flapping { // the flap comes, whether or not the pod is read
		if obj, err := k.cs.Tracker().Get(podsGVR, "shop", name); on && err == nil {
			p := obj.(*corev1.Pod)
			k.unready(p)
			_ = k.cs.Tracker().Update(podsGVR, p, p.Namespace)
		}
	}
	pod := obj.(*corev1.Pod)
	if k.stop(pod) {
		k.pending[pod.Name] = 2
		if err := k.cs.Tracker().Update(podsGVR, pod, pod.Namespace); err != nil {
			return true, nil, err
		}
	}
	k.countUnready()
	return true, pod, nil
}

func (k *kubelet) read(action k8stesting.Action) (bool, runtime.Object, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, obj, err := k8stesting.ObjectReaction(k.cs.Tracker())(action)
	if err != nil {
		return true, nil, err
	}
	pod := obj.(*corev1.Pod)
	switch n, ok := k.pending[pod.Name]; {
	case ok && n > 1:
		k.pending[pod.Name] = n - 1
	case ok && k.run(pod):
		delete(k.pending, pod.Name)
		k.flapping[pod.Name] = k.flap && !k.flapped[pod.Name]
	case k.flapping[pod.Name]:
		k.unready(pod)
	default:
		return true, pod, nil
	}
	if err := k.cs.Tracker().Update(podsGVR, pod, pod.Namespace); err != nil {
		return true, nil, err
	}
	k.countUnready()
	return true, pod, nil
}

// unready flaps a pod's sidecar: not Ready until its next read.
func (k *kubelet) unready(pod *corev1.Pod) {
	delete(k.flapping, pod.Name)
	k.flapped[pod.Name] = true
	k.pending[pod.Name] = 1
	pod.Status.InitContainerStatuses[0].Ready = false
	setReady(pod, false)
}

// stop marks the containers whose spec the status does not show as restarting, and
// says whether there were any.
func (k *kubelet) stop(pod *corev1.Pod) bool {
	changed := false
	k.each(pod, func(spec corev1.Container, s *corev1.ContainerStatus, init bool) {
		var have corev1.ResourceRequirements
		if s.Resources != nil {
			have = *s.Resources
		}
		if s.Image == spec.Image && sameCPUAndMemory(spec.Resources, have) && s.State.Running != nil {
			return
		}
		changed = true
		if s.Image == spec.Image && s.State.Running != nil { // a resize restarts nothing
			return
		}
		s.Ready, s.State = false, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
		switch {
		case !strings.HasPrefix(spec.Image, "bad:"):
		case init:
			// As the kubelet shows a native sidecar whose image cannot be pulled: the old
			// container terminated in its status, the cause in an event.
			s.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}
			k.warn(pod, "spec.initContainers{"+s.Name+"}", "Failed", "Error: ErrImageNeverPull")
		default:
			s.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "not found"}
		}
	})
	if changed {
		setReady(pod, false)
	}
	return changed
}

// run starts every container on its spec, unless an image cannot be pulled.
func (k *kubelet) run(pod *corev1.Pod) bool {
	ok := true
	k.each(pod, func(spec corev1.Container, s *corev1.ContainerStatus, init bool) {
		ok = ok && !strings.HasPrefix(spec.Image, "bad:")
	})
	if !ok {
		return false
	}
	k.each(pod, func(spec corev1.Container, s *corev1.ContainerStatus, init bool) {
		if s.Image != spec.Image || s.State.Running == nil {
			k.generation++
			*s = running(s.Name, spec.Image, fmt.Sprintf("%s-%s-%d", pod.Name, s.Name, k.generation))
		}
		s.Resources, s.Ready = spec.Resources.DeepCopy(), true
	})
	setReady(pod, true)
	return true
}

func (k *kubelet) each(pod *corev1.Pod, fn func(spec corev1.Container, s *corev1.ContainerStatus, init bool)) {
	for _, lists := range []struct {
		specs    []corev1.Container
		statuses []corev1.ContainerStatus
		init     bool
	}{{pod.Spec.InitContainers, pod.Status.InitContainerStatuses, true}, {pod.Spec.Containers, pod.Status.ContainerStatuses, false}} {
		for i := range lists.statuses {
			for _, c := range lists.specs {
				if c.Name == lists.statuses[i].Name {
					fn(c, &lists.statuses[i], lists.init)
				}
			}
		}
	}
}

// warn records a warning event about a container of pod, as the kubelet does.
func (k *kubelet) warn(pod *corev1.Pod, fieldPath, reason, message string) {
	k.generation++
	e := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: fmt.Sprintf("%s.%d", pod.Name, k.generation)},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, FieldPath: fieldPath},
		Type:           corev1.EventTypeWarning, Reason: reason, Message: message, Count: 1}
	_ = k.cs.Tracker().Create(corev1.SchemeGroupVersion.WithResource("events"), e, pod.Namespace)
}

func (k *kubelet) countUnready() {
	list, err := k.cs.Tracker().List(podsGVR, corev1.SchemeGroupVersion.WithKind("Pod"), "")
	if err != nil {
		return
	}
	n := 0
	for _, p := range list.(*corev1.PodList).Items {
		if !podReady(&p) {
			n++
		}
	}
	k.maxUnready = max(k.maxUnready, n)
}

func setReady(pod *corev1.Pod, ready bool) {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			pod.Status.Conditions[i].Status = status
		}
	}
}
