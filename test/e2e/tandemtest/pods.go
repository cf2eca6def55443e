package tandemtest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// WaitForPod waits until a pod matching selector exists in namespace and returns it.
func WaitForPod(ctx context.Context, client kubernetes.Interface, namespace, selector string, timeout time.Duration) (*corev1.Pod, error) {
	return WaitForPodWhere(ctx, client, namespace, selector, timeout, func(*corev1.Pod) bool { return true })
}

// WaitForPodWhere waits until the first pod matching selector in namespace satisfies
// done, and returns it. On timeout it returns the pod as last seen (nil if none) with
// the error.
func WaitForPodWhere(ctx context.Context, client kubernetes.Interface, namespace, selector string, timeout time.Duration, done func(*corev1.Pod) bool) (*corev1.Pod, error) {
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil || len(pods.Items) == 0 {
			return false, nil
		}
		last = &pods.Items[0]
		return done(last), nil
	})
	if err != nil && last == nil {
		return nil, fmt.Errorf("no pod with labels %q appeared in namespace %s within %s: %w", selector, namespace, timeout, err)
	}
	return last, err
}

// Ready reports whether a pod runs and its Ready condition is true.
func Ready(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
	})
}

// WaitActive waits until the API server calls Tandem for pods in namespace: a server-side
// dry-run of a pod asking for sidecar comes back with the status annotation. The API
// server picks up a new webhook configuration asynchronously.
func WaitActive(ctx context.Context, client kubernetes.Interface, namespace, sidecar string) error {
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "tandem-probe-", Annotations: map[string]string{"tandem.io/inject": sidecar}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "registry.k8s.io/pause:3.10"}}},
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		pod, err := client.CoreV1().Pods(namespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err == nil && pod.Annotations["tandem.io/status"] != "", nil
	})
	if err != nil {
		return fmt.Errorf("the API server did not start calling Tandem within 30s: %w", err)
	}
	return nil
}

// DescribePod renders what injection changed in a pod, for people: labels, Tandem's
// annotations, init containers, containers and volumes.
func DescribePod(pod *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Pod %s/%s\n", pod.Namespace, pod.Name)
	fmt.Fprintf(&b, "  labels:         %s\n", joinMap(pod.Labels))
	for _, k := range sortedKeys(pod.Annotations) {
		if strings.HasPrefix(k, "tandem.io/") {
			fmt.Fprintf(&b, "  annotation:     %s=%s\n", k, pod.Annotations[k])
		}
	}
	for _, c := range pod.Spec.InitContainers {
		kind := "init container"
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			kind = "native sidecar"
		}
		fmt.Fprintf(&b, "  %-15s %s (%s)\n", kind+":", c.Name, c.Image)
	}
	for _, c := range pod.Spec.Containers {
		var env []string
		for _, e := range c.Env {
			env = append(env, e.Name)
		}
		extra := ""
		if len(env) > 0 {
			extra = " env: " + strings.Join(env, ",")
		}
		fmt.Fprintf(&b, "  container:      %s (%s)%s\n", c.Name, c.Image, extra)
	}
	var volumes []string
	for _, v := range pod.Spec.Volumes {
		volumes = append(volumes, v.Name)
	}
	fmt.Fprintf(&b, "  volumes:        %s\n", strings.Join(volumes, ", "))
	return b.String()
}

func joinMap(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
