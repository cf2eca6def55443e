package rollout

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// requestsDefaulted is r as the API server stores it: a limit without a request gives the
// request its value.
func requestsDefaulted(r corev1.ResourceRequirements) corev1.ResourceRequirements {
	out := *r.DeepCopy()
	for name, limit := range r.Limits {
		if _, ok := out.Requests[name]; !ok {
			if out.Requests == nil {
				out.Requests = corev1.ResourceList{}
			}
			out.Requests[name] = limit
		}
	}
	return out
}

// sameResources compares what a pod carries with what would be injected, as quantities
// (100m and 0.1 are the same).
func sameResources(live, want corev1.ResourceRequirements) bool {
	want = requestsDefaulted(want)
	return sameList(live.Requests, want.Requests) && sameList(live.Limits, want.Limits)
}

func sameList(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for name, qa := range a {
		qb, ok := b[name]
		if !ok || qa.Cmp(qb) != 0 {
			return false
		}
	}
	return true
}

// resizable says whether every resource that changes is one a running pod resizes: cpu
// and memory.
func resizable(live, want corev1.ResourceRequirements) bool {
	want = requestsDefaulted(want)
	for _, pair := range [][2]corev1.ResourceList{{live.Requests, want.Requests}, {live.Limits, want.Limits}} {
		for _, name := range changedNames(pair[0], pair[1]) {
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
				return false
			}
		}
	}
	return true
}

func changedNames(a, b corev1.ResourceList) []corev1.ResourceName {
	var names []corev1.ResourceName
	for name, qa := range a {
		if qb, ok := b[name]; !ok || qa.Cmp(qb) != 0 {
			names = append(names, name)
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			names = append(names, name)
		}
	}
	return names
}

// qosClass is the pod's QoS class with container name's resources replaced by r ("" to
// replace nothing), as the kubelet computes it from cpu and memory: Guaranteed when every
// container limits both and requests what it limits, BestEffort when none asks for any.
func qosClass(pod *corev1.Pod, name string, r corev1.ResourceRequirements) corev1.PodQOSClass {
	guaranteed, any := true, false
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		res := c.Resources
		if c.Name == name {
			res = requestsDefaulted(r)
		}
		for _, n := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := res.Requests[n]
			limit, hasLimit := res.Limits[n]
			if (hasReq && !req.IsZero()) || (hasLimit && !limit.IsZero()) {
				any = true
			}
			if !hasLimit || !hasReq || req.Cmp(limit) != 0 {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// formatResources says resources on one line: "requests cpu=100m memory=64Mi, limits
// memory=128Mi"; "" for none.
func formatResources(r corev1.ResourceRequirements) string {
	var parts []string
	for _, l := range []struct {
		name string
		list corev1.ResourceList
	}{{"requests", r.Requests}, {"limits", r.Limits}} {
		if len(l.list) == 0 {
			continue
		}
		names := make([]string, 0, len(l.list))
		for n := range l.list {
			names = append(names, string(n))
		}
		slices.Sort(names)
		items := make([]string, len(names))
		for i, n := range names {
			q := l.list[corev1.ResourceName(n)]
			items[i] = n + "=" + quantity(q)
		}
		parts = append(parts, l.name+" "+strings.Join(items, " "))
	}
	return strings.Join(parts, ", ")
}

func quantity(q resource.Quantity) string { return q.String() }
