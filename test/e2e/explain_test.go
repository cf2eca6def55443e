package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/explain"
	"github.com/tandem-io/tandem/internal/inject"
)

// tandem explain pod and namespace, run as a user would against pods the API server
// stored: what each says, in -o json, and the exit status CI reads.
func TestExplainLivePods(t *testing.T) {
	ns := namespace(t, nil)
	// Tandem is never called for this namespace: the only way to store a pod that asks
	// for a sidecar its namespace may not have, which admission would refuse.
	unrouted := namespace(t, map[string]string{webhookLabel: "explain-unrouted"})

	injected := createForExplain(t, ns, pod("injected", nil, map[string]string{"tandem.io/inject": "seed,proxy"}))
	if injected.Annotations[inject.StatusKey] == "" {
		t.Fatalf("the pod was not injected: %v", injected.Annotations)
	}
	createForExplain(t, ns, pod("opted-out", map[string]string{"tandem.io/inject": "false"}, map[string]string{"tandem.io/inject": "seed"}))
	host := pod("host", nil, map[string]string{"tandem.io/inject": "proxy"})
	host.Spec.HostNetwork = true
	createForExplain(t, ns, host)
	createForExplain(t, unrouted, pod("vault", nil, map[string]string{"tandem.io/inject": "vault"}))

	t.Run("an injected pod carries the current definitions", func(t *testing.T) {
		p := explainOne(t, 0, "pod", "injected", "-n", ns)
		if p.Reason != inject.ReasonAlreadyInjected || !p.OK || p.Denied {
			t.Errorf("want AlreadyInjected and ok: %+v", p)
		}
		if got := explainedSidecars(p); got != "seed injected AlreadyInjected, proxy injected AlreadyInjected" {
			t.Errorf("sidecars: %s", got)
		}
	})
	t.Run("an opted-out pod", func(t *testing.T) {
		p := explainOne(t, 0, "pod", "opted-out", "-n", ns)
		if p.Reason != inject.ReasonOptedOut || !p.OptedOut || len(p.Sidecars) != 0 || !p.OK {
			t.Errorf("want OptedOut, no sidecar, ok: %+v", p)
		}
	})
	t.Run("a host-network pod went without its proxy", func(t *testing.T) {
		p := explainOne(t, 1, "pod", "host", "-n", ns)
		if got := explainedSidecars(p); got != "proxy skipped HostNetwork" || p.OK {
			t.Errorf("want proxy skipped for HostNetwork, not ok: %s %+v", got, p)
		}
	})
	t.Run("a pod in a namespace its sidecar may not enter", func(t *testing.T) {
		p := explainOne(t, 1, "pod", "vault", "-n", unrouted)
		if !p.Denied || p.Reason != inject.ReasonNamespaceNotAllowed || explainedSidecars(p) != "vault denied NamespaceNotAllowed" || p.OK {
			t.Errorf("want vault denied for NamespaceNotAllowed: %s %+v", explainedSidecars(p), p)
		}
		if !strings.Contains(strings.Join(p.Warnings, "\n"), "carries no tandem.io/status") {
			t.Errorf("want a warning that Tandem never admitted the pod: %q", p.Warnings)
		}
	})
	t.Run("a namespace: every pod, and the worst status", func(t *testing.T) {
		out, stderr, code := tandemExplain(t, nil, "namespace", ns, "-o", "json")
		pods := decodeExplained(t, out)
		var names []string
		for _, p := range pods {
			names = append(names, p.Name)
		}
		if code != 1 || strings.Join(names, ",") != "host,injected,opted-out" {
			t.Errorf("status %d, pods %v; want 1 and host, injected, opted-out\n%s", code, names, stderr)
		}
	})
	t.Run("the cluster of $KUBECONFIG, in text", func(t *testing.T) {
		out, stderr, code := tandemExplain(t, []string{"KUBECONFIG=" + cp.KubeconfigPath}, "pod", "injected", "-n", ns)
		if code != 0 || !strings.Contains(out, "proxy    injected  AlreadyInjected  injected from the current definition\n") {
			t.Errorf("status %d, want 0 and proxy's line:\n%s\n%s", code, out, stderr)
		}
	})
	t.Run("a pod that is not there", func(t *testing.T) {
		out, stderr, code := tandemExplain(t, nil, "pod", "absent", "-n", ns)
		if code != 2 || out != "" || !strings.Contains(stderr, `pods "absent" not found`) {
			t.Errorf("status %d, stdout %q, stderr %q; want 2, nothing and the API server's not found", code, out, stderr)
		}
	})
}

func createForExplain(t *testing.T, ns string, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	created, err := client.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// tandemExplain runs the built tandem explain with the tests' config; with env nil it
// names the cluster with --kubeconfig, else the environment must.
func tandemExplain(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	args = append(append([]string{"explain"}, args...), "--config", config)
	if env == nil {
		args = append(args, "--kubeconfig", cp.KubeconfigPath)
	}
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(), append([]string{"HOME=" + t.TempDir(), "KUBECONFIG="}, env...)...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// explainOne explains one pod in JSON and checks the exit status.
func explainOne(t *testing.T, wantCode int, args ...string) explain.Pod {
	t.Helper()
	out, stderr, code := tandemExplain(t, nil, append(args, "-o", "json")...)
	if code != wantCode {
		t.Errorf("exit status %d, want %d; stderr: %s", code, wantCode, stderr)
	}
	pods := decodeExplained(t, out)
	if len(pods) != 1 {
		t.Fatalf("want one pod, got %d:\n%s", len(pods), out)
	}
	return pods[0]
}

func decodeExplained(t *testing.T, out string) []explain.Pod {
	t.Helper()
	var pods []explain.Pod
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pods); err != nil {
		t.Fatalf("the output is not a list of explained pods: %v\n%s", err, out)
	}
	return pods
}

// explainedSidecars lists "name decision reason" for each sidecar.
func explainedSidecars(p explain.Pod) string {
	var parts []string
	for _, s := range p.Sidecars {
		parts = append(parts, s.Name+" "+string(s.Decision)+" "+string(s.Reason))
	}
	return strings.Join(parts, ", ")
}
