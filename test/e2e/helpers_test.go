package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// namespace creates a namespace with labels for one test and deletes it afterwards.
func namespace(t *testing.T, labels map[string]string) string {
	t.Helper()
	return tandemtest.Namespace(t, client, labels)
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

// pod returns a minimal pod spec with the given annotations and labels.
func pod(name string, labels, annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
	}
}

// kubectl runs the cached kubectl with stdin; the error carries its stderr, which is
// what a user reads.
func kubectl(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), cp.KubectlPath, append([]string{"--kubeconfig", cp.KubeconfigPath}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// waitForPod waits for a pod with the given labels in ns.
func waitForPod(t *testing.T, ns, selector string) *corev1.Pod {
	t.Helper()
	p, err := tandemtest.WaitForPod(t.Context(), client, ns, selector, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// exceptTestRouted selects every namespace but kube-system and those a test routes to a
// webhook of its own.
func exceptTestRouted() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system"}},
		{Key: webhookLabel, Operator: metav1.LabelSelectorOpDoesNotExist},
	}}
}

func routedTo(route string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{webhookLabel: route}}
}

func containerNames(cs []corev1.Container) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}

func isNativeSidecar(c corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}
