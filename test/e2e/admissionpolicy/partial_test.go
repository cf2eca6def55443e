package admissionpolicy

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// shouty cannot be compiled: CEL has no exact upper. Pods that ask for it are the
// webhook's; the others the policy's.
const shouty = `
  - name: shouty
    annotations:
      shout.example.com/name: "{{ .Pod.GenerateName | upper }}"
`

func TestPartialCompileLeavesTheRestToTheWebhook(t *testing.T) {
	base, err := os.ReadFile(goldenConfig)
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(config, append(base, shouty...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := tandem(t.Context(), "compile", "--config", config)
	want := `sidecar "shouty": annotations[shout.example.com/name]: the template function upper has no exact CEL equivalent`
	if err == nil || !strings.Contains(string(stderr), want) || !strings.Contains(string(stderr), "--partial") {
		t.Fatalf("tandem compile of a sidecar CEL cannot express: %v\n%s\nwant an error naming it and the field, and --partial", err, stderr)
	}
	compiled, stderr, err := tandem(t.Context(), "compile", "--config", config, "--partial", "--name", "tandem-partial")
	if err != nil || !strings.Contains(string(stderr), "left to the webhook") || !strings.Contains(string(stderr), "shouty") {
		t.Fatalf("tandem compile --partial: %v\n%s", err, stderr)
	}
	// The policies first: waitEnforced tells them from the webhook only without it.
	if err := applyPolicies(t.Context(), compiled, "partial"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePolicies(t, "tandem-partial") })
	server, err := startWebhook(t.Context(), "partial", config, "partial")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = server.Stop()
		_ = tandemtest.Unregister(context.Background(), client, "tandem-partial")
	})
	ns := namespaceFor(t, nil, "partial")

	before := requests(t, server)
	p, err := client.CoreV1().Pods(ns).Create(t.Context(), probe("seed,proxy"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after := requests(t, server)
	if p.Labels["foo"] != "bar" || !hasContainer(p.Spec.InitContainers, "proxy") {
		t.Errorf("a pod that asks only for compiled sidecars is not injected: %v", p)
	}
	// At least once: the API server may call it again after a reinvocation.
	if after["AlreadyInjected"] == before["AlreadyInjected"] || after["Injected"] != before["Injected"] {
		t.Errorf("the webhook saw the policy's pod as %v -> %v; want it left alone as already injected", before, after)
	}

	before = after
	p, err = client.CoreV1().Pods(ns).Create(t.Context(), probe("seed,shouty"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after = requests(t, server)
	if p.Labels["foo"] != "bar" || p.Annotations["shout.example.com/name"] != "PROBE-" {
		t.Errorf("a pod that asks for a sidecar left to the webhook is not injected by it: labels %v annotations %v", p.Labels, p.Annotations)
	}
	if after["Injected"]-before["Injected"] != 1 {
		t.Errorf("the webhook's injections went %v -> %v; want one more", before, after)
	}
}

// requests reads tandem_admission_requests_total by reason.
func requests(t *testing.T, s *tandemtest.Server) map[string]float64 {
	t.Helper()
	resp, err := http.Get(s.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "tandem_admission_requests_total{")
		if !ok {
			continue
		}
		_, rest, _ := strings.Cut(line, `reason="`)
		reason, _, _ := strings.Cut(rest, `"`)
		v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		out[reason] += v
	}
	return out
}

func hasContainer(list []corev1.Container, name string) bool {
	for _, c := range list {
		if c.Name == name {
			return true
		}
	}
	return false
}

func deletePolicies(t *testing.T, name string) {
	ctx, api := context.Background(), client.AdmissionregistrationV1()
	_ = api.ValidatingAdmissionPolicyBindings().Delete(ctx, name+"-warnings", metav1.DeleteOptions{})
	_ = api.ValidatingAdmissionPolicies().Delete(ctx, name+"-warnings", metav1.DeleteOptions{})
	_ = api.MutatingAdmissionPolicyBindings().Delete(ctx, name, metav1.DeleteOptions{})
	_ = api.MutatingAdmissionPolicies().Delete(ctx, name, metav1.DeleteOptions{})
	_ = api.ValidatingAdmissionPolicyBindings().Delete(ctx, name, metav1.DeleteOptions{})
	_ = api.ValidatingAdmissionPolicies().Delete(ctx, name, metav1.DeleteOptions{})
}
