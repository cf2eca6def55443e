package node

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// startTimeout bounds how long a pod may take to run; on this node it takes seconds,
// the rest is room for a loaded machine.
const startTimeout = 2 * time.Minute

// create runs kubectl create -n ns -f manifest (a path, or "-" with stdin).
func create(t *testing.T, ns, manifest, stdin string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), cp.KubectlPath, "--kubeconfig", cp.KubeconfigPath, "create", "-n", ns, "-f", manifest)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl create -f %s: %v: %s", manifest, err, stderr.String())
	}
}

// waitPod waits until the first pod matching selector satisfies done, and returns it.
// The failure names what was awaited and the pod's last state.
func waitPod(t *testing.T, ns, selector, what string, done func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	p, err := tandemtest.WaitForPodWhere(t.Context(), client, ns, selector, startTimeout, done)
	if err != nil {
		t.Fatalf("pod %s in %s: not %s within %s: %v\nlast state: %s", selector, ns, what, startTimeout, err, describe(p))
	}
	return p
}

// waitReady waits for a Running pod whose Ready condition is true.
func waitReady(t *testing.T, ns, selector string) *corev1.Pod {
	t.Helper()
	return waitPod(t, ns, selector, "Ready", tandemtest.Ready)
}

// status returns the status of a container or init container by name.
func status(t *testing.T, p *corev1.Pod, name string) corev1.ContainerStatus {
	t.Helper()
	all := append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...)
	i := slices.IndexFunc(all, func(s corev1.ContainerStatus) bool { return s.Name == name })
	if i < 0 {
		t.Fatalf("pod %s has no container %q: %s", p.Name, name, describe(p))
	}
	return all[i]
}

// logs reads a container's log through the API server and kubelet, as kubectl logs does.
func logs(ctx context.Context, p *corev1.Pod, container string) (string, error) {
	data, err := client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
	return string(data), err
}

// waitLog waits until a container's log holds want, and returns the log.
func waitLog(t *testing.T, p *corev1.Pod, container, want string) string {
	t.Helper()
	var last string
	var lastErr error
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		last, lastErr = logs(ctx, p, container)
		return strings.Contains(last, want), nil
	})
	if err != nil {
		t.Fatalf("the log of %s/%s lacks %q (error: %v):\n%s", p.Name, container, want, lastErr, last)
	}
	return last
}

// describe is a pod's state for failure messages: phase, and each container's state.
func describe(p *corev1.Pod) string {
	if p == nil {
		return "no pod"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s phase %s", p.Name, p.Status.Phase)
	for _, s := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		fmt.Fprintf(&b, "; %s ready=%v restarts=%d %+v", s.Name, s.Ready, s.RestartCount, s.State)
	}
	return b.String()
}
