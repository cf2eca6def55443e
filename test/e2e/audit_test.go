package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/tandem-io/tandem/internal/audit"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// auditConfig is a best-effort sidecar, tracer, whose definition the test changes by
// its version label.
const auditConfig = `sidecars:
  - name: tracer
    description: A tracing agent; pods are admitted without it when it cannot be added.
    failurePolicy: ignore
    native: never
    labels:
      tracer.example.com/version: "%s"
    containers:
      - name: tracer
        image: registry.k8s.io/pause:3.10
`

// A Deployment created while Tandem is down, behind a webhook with failurePolicy Ignore,
// gets pods without the sidecar they ask for. tandem audit lists exactly those pods under
// the Deployment, with the command that fixes it, and the audit metrics of a server
// started with --audit-interval count them; after that command, both are clean; and
// after the sidecar's definition changes, both say the pods carry an outdated one.
func TestAuditFindsPodsAdmittedWhileTandemWasDown(t *testing.T) {
	ns := namespace(t, map[string]string{webhookLabel: "audit"})
	dir := filepath.Join(work, "audit")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "config.yaml")
	writeAtomically(t, cfgFile, fmt.Sprintf(auditConfig, "1"))

	// Tandem serves the namespace, then goes down.
	first := startAuditTandem(t, filepath.Join(dir, "first"), cfgFile, "")
	hook := tandemtest.Webhook{Name: "tandem-audit", URL: first.URL, CABundle: first.CABundle,
		FailurePolicy: admissionregistrationv1.Ignore, Namespaces: routedTo("audit")}
	register(t, hook)
	if err := tandemtest.WaitActive(t.Context(), client, ns, "tracer"); err != nil {
		t.Fatal(err)
	}
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.AppsV1().Deployments(ns).Create(t.Context(), tracedDeployment(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	down := webPods(t, ns, func(pods []corev1.Pod) bool { return len(pods) == 2 })
	for _, p := range down {
		if s := p.Annotations["tandem.io/status"]; s != "" {
			t.Fatalf("pod %s was admitted by Tandem while it was down: %s", p.Name, s)
		}
	}

	// Tandem is back, counting for the audit metrics every 2 s.
	wrapper := filepath.Join(dir, "tandem-with-audit")
	script := fmt.Sprintf("#!/bin/sh\nexec '%s' \"$@\" --audit-interval=2s --audit-lease=%s/tandem-audit\n", bin, ns)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	server := startAuditTandem(t, filepath.Join(dir, "second"), cfgFile, wrapper)
	hook.URL, hook.CABundle = server.URL, server.CABundle
	if err := hook.Register(t.Context(), client); err != nil {
		t.Fatal(err)
	}
	if err := tandemtest.WaitActive(t.Context(), client, ns, "tracer"); err != nil {
		t.Fatal(err)
	}

	restart := "tandem rollout --apply -n " + ns + " --owner deployment/web"
	deployment := audit.Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: "web"}
	report, code := auditReport(t, "-n", ns, "--config", cfgFile)
	if code != 1 {
		t.Errorf("tandem audit exited %d with pods missing their sidecar, want 1", code)
	}
	want := []audit.Owner{{
		Ref: deployment, Pods: []audit.Pod{{Name: down[0].Name, Missing: []string{"tracer"}}, {Name: down[1].Name, Missing: []string{"tracer"}}},
		Missing: map[string]int{"tracer": 2}, Outdated: map[string]int{},
		Command: restart, Fix: audit.RollSentence,
	}}
	if diff := cmp.Diff(want, report.Owners); diff != "" {
		t.Errorf("tandem audit with the sidecar missing (-want +got):\n%s", diff)
	}
	waitForAuditMetrics(t, server, ns, map[string]float64{"tandem_pods_missing_sidecars": 2})

	// A restart, with Tandem up. (The audit's command, tandem rollout, waits for the new
	// pods to be Ready, which needs a node: test/e2e/rollout runs it.)
	if out, err := kubectl(t, "", "-n", ns, "rollout", "restart", "deployment/web"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	webPods(t, ns, func(pods []corev1.Pod) bool {
		return len(pods) == 2 && !slices.ContainsFunc(pods, func(p corev1.Pod) bool {
			return p.Annotations["tandem.io/status"] == "" || p.DeletionTimestamp != nil
		})
	})
	report, code = auditReport(t, "-n", ns, "--config", cfgFile)
	if code != 0 || len(report.Owners) != 0 || report.Audited != 2 {
		t.Errorf("after the restart, tandem audit exited %d with %d pods audited and %+v; want 0, 2 pods and none listed", code, report.Audited, report.Owners)
	}
	waitForAuditMetrics(t, server, ns, map[string]float64{})

	// A new definition of the sidecar: the server reloads the file, and the audit with it.
	writeAtomically(t, cfgFile, fmt.Sprintf(auditConfig, "2"))
	report, code = auditReport(t, "-n", ns, "--config", cfgFile)
	if code != 1 || len(report.Owners) != 1 || report.Owners[0].Ref != deployment ||
		!cmp.Equal(report.Owners[0].Outdated, map[string]int{"tracer": 2}) || len(report.Owners[0].Missing) != 0 {
		t.Errorf("with the sidecar's definition changed, tandem audit exited %d with %+v; want 1 and the Deployment's 2 pods outdated, none missing", code, report.Owners)
	}
	waitForAuditMetrics(t, server, ns, map[string]float64{"tandem_pods_outdated_sidecars": 2})

	text, _, code := auditCLI(t, "-n", ns, "--config", cfgFile)
	for _, line := range []string{"Deployment " + ns + "/web: 2 pods", "  outdated  tracer (2 pods)", "  fix       " + restart} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("tandem audit's text output lacks %q:\n%s", line, text)
		}
	}
	if code != 1 {
		t.Errorf("tandem audit (text) exited %d, want 1", code)
	}
	if _, stderr, code := auditCLI(t, "-n", ns, "--config", filepath.Join(dir, "no-such-file.yaml")); code != 2 {
		t.Errorf("tandem audit with a configuration that cannot be read exited %d, want 2: %s", code, stderr)
	}
}

// startAuditTandem starts tandem serve on cfgFile; binary, when not empty, runs instead
// of the tests' build (a wrapper that adds flags).
func startAuditTandem(t *testing.T, dir, cfgFile, binary string) *tandemtest.Server {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if binary == "" {
		binary = bin
	}
	s, err := tandemtest.StartServer(t.Context(), tandemtest.Options{Binary: binary, Dir: dir, ConfigFile: cfgFile, Kubeconfig: cp.KubeconfigPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Stop()
		if t.Failed() {
			t.Logf("log of %s:\n%s", dir, tail(s.LogPath, 30))
		}
	})
	return s
}

// tracedDeployment asks for tracer for its two pods. They are never scheduled (there is
// no node), so Recreate is the strategy a restart can complete with.
func tracedDeployment() *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"tandem.io/inject": "tracer"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
}

// webPods waits until the Deployment's pods satisfy done, and returns them by name.
func webPods(t *testing.T, ns string, done func([]corev1.Pod) bool) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	err := waitFor(t, time.Minute, func() bool {
		list, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false
		}
		pods = list.Items
		return done(pods)
	})
	if err != nil {
		t.Fatalf("the Deployment's pods: %v; last seen: %d", err, len(pods))
	}
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return pods
}

// auditCLI runs the tests' tandem audit on the test cluster.
func auditCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, append([]string{"audit", "--kubeconfig", cp.KubeconfigPath}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func auditReport(t *testing.T, args ...string) (audit.Report, int) {
	t.Helper()
	stdout, stderr, code := auditCLI(t, append(args, "-o", "json")...)
	var r audit.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("tandem audit -o json (exit %d): %v\nstdout: %s\nstderr: %s", code, err, stdout, stderr)
	}
	return r, code
}

// waitForAuditMetrics waits until the audit's series for ns on the server are exactly
// want, by metric name, for the sidecar tracer; a series absent from want must be
// absent or 0.
func waitForAuditMetrics(t *testing.T, s *tandemtest.Server, ns string, want map[string]float64) {
	t.Helper()
	var got map[string]float64
	err := waitFor(t, time.Minute, func() bool {
		got = auditSeries(t, s.Metrics, ns)
		for _, name := range []string{"tandem_pods_missing_sidecars", "tandem_pods_outdated_sidecars"} {
			if got[name] != want[name] {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("audit metrics of namespace %s: %v; got %v, want %v", ns, err, got, want)
	}
}

// auditSeries reads the audit's series of namespace ns and sidecar tracer.
func auditSeries(t *testing.T, url, ns string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	series := map[string]float64{}
	labels := fmt.Sprintf(`{namespace=%q,sidecar="tracer"} `, ns)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), labels)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatal(err)
		}
		series[name] = v
	}
	return series
}

// writeAtomically replaces a file in one rename, so that the server never reads half
// of it.
func writeAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
