package rollout

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// newClient is a fake cluster of version 1.minor holding objects, with or without the
// pods/resize subresource.
func newClient(minor int, resize bool, objects ...runtime.Object) *fake.Clientset {
	cs := fake.NewClientset(objects...)
	d := cs.Discovery().(*fakediscovery.FakeDiscovery)
	d.FakedServerVersion = &version.Info{Major: "1", Minor: strconv.Itoa(minor), GitVersion: fmt.Sprintf("v1.%d.0", minor)}
	core := &metav1.APIResourceList{GroupVersion: "v1", APIResources: []metav1.APIResource{{Name: "pods"}, {Name: "pods/status"}}}
	if resize {
		core.APIResources = append(core.APIResources, metav1.APIResource{Name: "pods/resize"})
	}
	d.Resources = []*metav1.APIResourceList{core}
	return cs
}

func ns(name string, annotations map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"team": "a"}, Annotations: annotations}}
}

// controlledBy is an owner reference that makes owner the controller.
func controlledBy(apiVersion, kind, name string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID(kind + "-" + name), Controller: ptr.To(true)}}
}

// pod is a running, Ready pod of owner with a native proxy (proxy:v1) and a classic
// log shipper, as Tandem injects them.
func pod(namespace, name string, owner []metav1.OwnerReference) *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: types.UID("uid-" + name), OwnerReferences: owner,
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{inject.StatusKey: `{"sidecars":[{"name":"proxy","hash":"p1"},{"name":"logs","hash":"l1"}]}`}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "proxy", Image: "proxy:v1", RestartPolicy: &always}},
			Containers:     []corev1.Container{{Name: "app", Image: "app:v1"}, {Name: "logs", Image: "logs:v1"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{running("proxy", "proxy:v1", name+"-proxy-0")}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{running("app", "app:v1", name+"-app-0"), running("logs", "logs:v1", name+"-logs-0")}
	return p
}

func running(name, image, id string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Image: image, ContainerID: "containerd://" + id, Ready: true,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func newDeployment(namespace, name string, annotations map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: types.UID("Deployment-" + name), Annotations: annotations},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)}}
}

func replicaSet(namespace, name string, owner []metav1.OwnerReference) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: types.UID("ReplicaSet-" + name), OwnerReferences: owner},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
}

// seenPlanner stands in for PlanPod: it records the owner each pod was planned with,
// and plans every pod as plan says.
type seenPlanner struct {
	mu     sync.Mutex
	owners map[string]Owner
	plan   func(pod *corev1.Pod, owner Owner) PodPlan
}

func usePlanner(t *testing.T, plan func(pod *corev1.Pod, owner Owner) PodPlan) *seenPlanner {
	s := &seenPlanner{owners: map[string]Owner{}, plan: plan}
	old := planPod
	planPod = func(pod *corev1.Pod, _ inject.Namespace, owner Owner, _ *config.Config, _ Cluster) PodPlan {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.owners[pod.Name] = owner
		return s.plan(pod, owner)
	}
	t.Cleanup(func() { planPod = old })
	return s
}

// proxyImage is the plan of an in-place proxy upgrade to image.
func proxyImage(pod *corev1.Pod, owner Owner, image string) PodPlan {
	return PodPlan{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, Owner: owner.Ref, Action: ActionInPlace,
		Changes: []Change{{Sidecar: "proxy", Part: "container proxy", Field: "image", From: "proxy:v1", To: image, InPlace: true,
			Container: "proxy", Init: true, Image: image}},
		Status: `{"sidecars":[{"name":"proxy","hash":"p2"},{"name":"logs","hash":"l1"}]}`}
}

// pagedLists makes the fake list pods a page at a time, as the API server does (the
// fake ignores Limit and Continue), and counts the requests.
func pagedLists(cs *fake.Clientset, requests *int) {
	cs.PrependReactor("list", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		opts := action.(k8stesting.ListActionImpl).ListOptions
		*requests++
		obj, err := cs.Tracker().List(corev1.SchemeGroupVersion.WithResource("pods"), corev1.SchemeGroupVersion.WithKind("Pod"), action.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		list := obj.(*corev1.PodList)
		slices.SortFunc(list.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
		start, _ := strconv.Atoi(opts.Continue)
		end := len(list.Items)
		if opts.Limit > 0 && start+int(opts.Limit) < end {
			end = start + int(opts.Limit)
			list.Continue = strconv.Itoa(end)
		}
		list.Items = list.Items[start:end]
		return true, list, nil
	})
}
