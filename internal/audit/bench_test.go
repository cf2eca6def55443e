package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	pkgruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/tandem-io/tandem/internal/benchdata"
	"github.com/tandem-io/tandem/internal/inject"
)

// benchPods is the number of pods the memory benchmark watches.
const benchPods = 10_000

// BenchmarkPodInformerMemory measures the live heap of a pod informer holding 10,000
// pods once synced: the one `tandem serve --audit-interval` runs (metadata only,
// stripped before storing), the same without the stripping, and a typed informer of
// whole pods for comparison. Each pod is the typical reference pod, injected with the
// proxy, given a running status and the kubelet's managed fields, under a name of its
// own. Run it with -benchtime 1x: an iteration is a whole informer.
func BenchmarkPodInformerMemory(b *testing.B) {
	pods := benchmarkPods(b)
	b.Run("metadata-stripped", func(b *testing.B) {
		client := fakeClient(b, metadataOf(pods)...)
		measureInformer(b, func() cache.SharedIndexInformer { return podInformer(client) })
	})
	b.Run("metadata-whole", func(b *testing.B) {
		client := fakeClient(b, metadataOf(pods)...)
		measureInformer(b, func() cache.SharedIndexInformer {
			return metadatainformer.NewFilteredMetadataInformer(client, podsResource, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
		})
	})
	b.Run("typed", func(b *testing.B) {
		list := &corev1.PodList{Items: pods}
		lw := listOnly{&cache.ListWatch{
			// A copy per list, as a client decodes one from each response.
			ListWithContextFunc: func(context.Context, metav1.ListOptions) (pkgruntime.Object, error) {
				return list.DeepCopy(), nil
			},
			WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) { return watch.NewFake(), nil },
		}}
		measureInformer(b, func() cache.SharedIndexInformer {
			return cache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, cache.Indexers{})
		})
	})
}

// BenchmarkCount is one computation of `tandem serve --audit-interval` over 10,000 pods
// as its informer stores them, half of them missing the proxy.
func BenchmarkCount(b *testing.B) {
	cfg := testConfig(b)
	var stored []any
	for i, obj := range metadataOf(benchmarkPods(b)) {
		pod := obj.(*metav1.PartialObjectMetadata)
		if i%2 == 0 {
			delete(pod.Annotations, inject.StatusKey)
		}
		kept, err := keepAuditFields(pod)
		if err != nil {
			b.Fatal(err)
		}
		stored = append(stored, kept)
	}
	namespace := func(name string) inject.Namespace { return inject.Namespace{Name: name, LabelsKnown: true} }
	var c *counts
	for b.Loop() {
		c = count(stored, namespace, cfg)
	}
	if c.pods != benchPods || c.podsMissing != benchPods/2 {
		b.Fatalf("counted %d pods, %d missing; want %d, %d", c.pods, c.podsMissing, benchPods, benchPods/2)
	}
}

// listOnly makes the reflector list, then watch: its watch never sends the bookmark
// that would end a streamed initial list.
type listOnly struct{ *cache.ListWatch }

func (listOnly) IsWatchListSemanticsUnSupported() bool { return true }

// measureInformer reports the heap an informer adds once it has synced: live bytes
// after a collection, less those before it was made.
func measureInformer(b *testing.B, newInformer func() cache.SharedIndexInformer) {
	var live uint64
	for b.Loop() {
		before := liveHeap()
		informer := newInformer()
		ctx, cancel := context.WithCancel(context.Background())
		go informer.RunWithContext(ctx)
		if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
			b.Fatal("the informer did not sync")
		}
		if n := len(informer.GetStore().ListKeys()); n != benchPods {
			b.Fatalf("the informer holds %d pods, want %d", n, benchPods)
		}
		live = liveHeap() - before
		runtime.KeepAlive(informer)
		cancel()
	}
	b.ReportMetric(float64(live)/(1<<20), "MiB")
	b.ReportMetric(float64(live)/benchPods, "B/pod")
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC() // the first may leave finalizers' objects for the second
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// benchmarkPods are benchPods running pods, as a Pod informer would hold them.
func benchmarkPods(b *testing.B) []corev1.Pod {
	b.Helper()
	raw, err := benchdata.Object("typical")
	if err != nil {
		b.Fatal(err)
	}
	cfg := testConfig(b)
	res, err := inject.Inject(raw, inject.Namespace{Name: "default", LabelsKnown: true}, cfg, inject.Options{NativeSidecars: true})
	if err != nil {
		b.Fatal(err)
	}
	patch, err := jsonpatch.DecodePatch(res.Patch)
	if err != nil {
		b.Fatal(err)
	}
	injected, err := patch.Apply(raw)
	if err != nil {
		b.Fatal(err)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(injected, &pod); err != nil {
		b.Fatal(err)
	}
	pod.APIVersion, pod.Kind = "v1", "Pod"
	pod.Spec.NodeName = "node-17.example.internal"
	pod.Status = runningStatus(pod)
	pod.ManagedFields = append(pod.ManagedFields, metav1.ManagedFieldsEntry{
		Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
		Time: ptr.To(metav1.Now()), FieldsType: "FieldsV1", Subresource: "status",
		FieldsV1: metav1.NewFieldsV1(kubeletFields),
	})
	pods := make([]corev1.Pod, benchPods)
	for i := range pods {
		p := pod.DeepCopy()
		p.Name = fmt.Sprintf("%s%05d", pod.GenerateName, i)
		p.UID = types.UID("uid-" + p.Name)
		p.ResourceVersion = fmt.Sprint(1000 + i)
		pods[i] = *p
	}
	return pods
}

func metadataOf(pods []corev1.Pod) []pkgruntime.Object {
	objs := make([]pkgruntime.Object, len(pods))
	for i := range pods {
		objs[i] = &metav1.PartialObjectMetadata{TypeMeta: pods[i].TypeMeta, ObjectMeta: *pods[i].ObjectMeta.DeepCopy()}
	}
	return objs
}

// runningStatus is what the kubelet reports for pod once its containers run.
func runningStatus(pod corev1.Pod) corev1.PodStatus {
	start := metav1.NewTime(time.Date(2024, 5, 14, 9, 22, 3, 0, time.UTC))
	st := corev1.PodStatus{
		Phase: corev1.PodRunning, QOSClass: corev1.PodQOSBurstable, StartTime: &start,
		HostIP: "10.0.3.17", HostIPs: []corev1.HostIP{{IP: "10.0.3.17"}},
		PodIP: "10.244.7.213", PodIPs: []corev1.PodIP{{IP: "10.244.7.213"}},
	}
	for _, c := range []corev1.PodConditionType{"PodReadyToStartContainers", corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled} {
		st.Conditions = append(st.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue, LastTransitionTime: start})
	}
	status := func(c corev1.Container) corev1.ContainerStatus {
		return corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image + "@sha256:4f0c1d9e6b7a2f5c8e4d1b0a9c7e6f5d4c3b2a1908f7e6d5c4b3a29180706f5e",
			ContainerID: "containerd://8d3a7c6e5f4b3a2918d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2918d7c6b5a4f3e",
			Ready:       true, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}},
		}
	}
	for _, c := range pod.Spec.InitContainers {
		st.InitContainerStatuses = append(st.InitContainerStatuses, status(c))
	}
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, status(c))
	}
	return st
}

// kubeletFields is the kubelet's managed fields entry for a running pod's status.
const kubeletFields = `{"f:status":{"f:conditions":{"k:{\"type\":\"ContainersReady\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},"k:{\"type\":\"Initialized\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},"k:{\"type\":\"PodReadyToStartContainers\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},"k:{\"type\":\"Ready\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}}},"f:containerStatuses":{},"f:hostIP":{},"f:hostIPs":{},"f:initContainerStatuses":{},"f:phase":{},"f:podIP":{},"f:podIPs":{".":{},"k:{\"ip\":\"10.244.7.213\"}":{".":{},"f:ip":{}}},"f:startTime":{}}}`
