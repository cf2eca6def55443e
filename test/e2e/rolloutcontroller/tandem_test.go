package rolloutcontroller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// The release the tests install: release tandem in its own namespace, so its
// Deployment is tandem, its ConfigMap tandem-config and its Lease tandem-audit.
const (
	tandemNS  = "tandem-rollout"
	release   = "tandem"
	configMap = release + "-config"
	lease     = release + "-audit"
	// metricsPort is the chart's default ports.metrics.
	metricsPort = "8080"
)

// startTimeout bounds how long Tandem's replicas, a leader or a configuration take to
// be there; here it takes seconds, the rest is room for a loaded machine.
const startTimeout = 2 * time.Minute

// chart is the chart of this tree.
func chart() string { return tandemtest.RepoFile("deploy", "charts", "tandem") }

// helm runs the pinned helm and fails the test on error.
func helm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := cp.Helm(t.Context(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// install installs the chart with Tandem's image, the rollout controller and values,
// serving d; it uninstalls when the test ends.
func install(t *testing.T, d def, values ...string) {
	t.Helper()
	args := []string{"install", release, chart(), "--namespace", tandemNS, "--create-namespace",
		"--set", "image.repository=" + strings.Split(images.TandemTag, ":")[0],
		"--set", "image.tag=" + strings.Split(images.TandemTag, ":")[1],
		"--set", "image.pullPolicy=Never",
		"--set", "replicaCount=2",
		"--set-file", "config=" + configFile(t, d)}
	for _, v := range values {
		args = append(args, "--set", v)
	}
	helm(t, args...)
	current = d
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = cp.Helm(ctx, "uninstall", release, "--namespace", tandemNS, "--wait")
		_ = client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, release, metav1.DeleteOptions{})
		_ = client.CoreV1().Namespaces().Delete(ctx, tandemNS, metav1.DeleteOptions{})
	})
	waitRolledOut(t)
}

// upgrade runs helm upgrade --reuse-values with values, and waits until Tandem's
// Deployment has rolled out whatever the upgrade changed of its pods.
func upgrade(t *testing.T, values ...string) {
	t.Helper()
	args := []string{"upgrade", release, chart(), "--namespace", tandemNS, "--reuse-values"}
	for _, v := range values {
		args = append(args, "--set", v)
	}
	helm(t, args...)
	waitRolledOut(t)
}

// current is the configuration installed last.
var current def

// serve installs d as the configuration by helm upgrade, and waits until every replica
// loaded it: the controller acts on the configuration its replica serves.
func serve(t *testing.T, d def) {
	t.Helper()
	start := time.Now()
	helm(t, "upgrade", release, chart(), "--namespace", tandemNS, "--reuse-values", "--set-file", "config="+configFile(t, d))
	current = d
	waitConfigServed(t)
	t.Logf("configuration %+v served by every replica %s after helm upgrade began", d, time.Since(start).Round(100*time.Millisecond))
}

func configFile(t *testing.T, d def) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(d.yaml()), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// configDigest is the hex sha256 of the configuration the ConfigMap holds.
func configDigest(t *testing.T) string {
	t.Helper()
	cm, err := client.CoreV1().ConfigMaps(tandemNS).Get(t.Context(), configMap, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(cm.Data["config.yaml"]))
	return hex.EncodeToString(sum[:])
}

// waitConfigServed waits until every Tandem replica serves the configuration the
// ConfigMap holds now.
func waitConfigServed(t *testing.T) {
	t.Helper()
	digest := configDigest(t)
	if err := tandemtest.WaitConfigServed(t.Context(), client, tandemNS, digest, startTimeout); err != nil {
		t.Fatalf("not every replica loaded the configuration with sha256 %s last, within %s: %v\n%s", digest, startTimeout, err, tandemLogs(t))
	}
}

// tandemPods lists Tandem's pods that are not on their way out.
func tandemPods(t *testing.T) []corev1.Pod {
	t.Helper()
	pods, err := tandemtest.TandemPods(t.Context(), client, tandemNS)
	if err != nil {
		t.Fatal(err)
	}
	return pods
}

// tandemLogs is every Tandem pod's log, one after the other, for failure messages; it
// works in a test's cleanup too, after the test's context ended.
func tandemLogs(t *testing.T) string {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	list, err := client.CoreV1().Pods(tandemNS).List(ctx, metav1.ListOptions{LabelSelector: tandemtest.TandemSelector})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range list.Items {
		out, err := client.CoreV1().Pods(tandemNS).GetLogs(p.Name, &corev1.PodLogOptions{Container: "tandem"}).DoRaw(ctx)
		fmt.Fprintf(&b, "--- %s (%v)\n%s", p.Name, err, out)
	}
	return b.String()
}

// waitRolledOut waits, as kubectl rollout status does, until Tandem's Deployment runs
// its current template on every replica, Ready, with no other pod left.
func waitRolledOut(t *testing.T) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 500*time.Millisecond, startTimeout, true, func(ctx context.Context) (bool, error) {
		d, err := client.AppsV1().Deployments(tandemNS).Get(ctx, release, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		want := *d.Spec.Replicas
		s := d.Status
		pods := tandemPods(t)
		last = fmt.Sprintf("generation %d observed %d; %d replicas, %d updated, %d ready; %d pods", d.Generation, s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, len(pods))
		return s.ObservedGeneration >= d.Generation && s.Replicas == want && s.UpdatedReplicas == want && s.ReadyReplicas == want && int32(len(pods)) == want, nil
	})
	if err != nil {
		t.Fatalf("Tandem's Deployment did not roll out within %s (%s): %v\n%s", startTimeout, last, err, tandemLogs(t))
	}
}

// leader waits until a Ready Tandem pod holds the Lease (its holder identity is the pod's
// name, "_", and a unique suffix) and returns it; not, if given, the pod named previous.
func leader(t *testing.T, previous string) corev1.Pod {
	t.Helper()
	var (
		holder string
		found  corev1.Pod
	)
	err := wait.PollUntilContextTimeout(t.Context(), 500*time.Millisecond, startTimeout, true, func(ctx context.Context) (bool, error) {
		l, err := client.CoordinationV1().Leases(tandemNS).Get(ctx, lease, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return false, nil
		}
		holder = *l.Spec.HolderIdentity
		for _, p := range tandemPods(t) {
			if strings.HasPrefix(holder, p.Name+"_") && p.Name != previous && tandemtest.Ready(&p) {
				found = p
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no Ready Tandem pod (other than %q) holds the Lease %s/%s within %s (holder %q): %v", previous, tandemNS, lease, startTimeout, holder, err)
	}
	return found
}

// metrics reads a Tandem pod's /metrics through the API server's pod proxy, by series:
// `name{label="value",…}` with the labels sorted, as the text format writes them.
func metrics(ctx context.Context, pod string) (map[string]float64, error) {
	raw, err := client.CoreV1().Pods(tandemNS).ProxyGet("http", pod, metricsPort, "/metrics", nil).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("the metrics of %s: %w", pod, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("the metrics of %s: %w", pod, err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName(), l.GetValue())
			}
			switch {
			case m.Gauge != nil:
				out[series(name, labels...)] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[series(name, labels...)] = m.GetCounter().GetValue()
			case m.Untyped != nil:
				out[series(name, labels...)] = m.GetUntyped().GetValue()
			}
		}
	}
	return out, nil
}

// series names a series: series("x", "b", "2", "a", "1") is `x{a="1",b="2"}`.
func series(name string, labels ...string) string {
	var pairs []string
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
	}
	if len(pairs) == 0 {
		return name
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// Series of the rollout controller.
var (
	inPlaceDone    = series("tandem_rollout_pods", "action", "in-place", "state", "done")
	inPlacePaused  = series("tandem_rollout_pods", "action", "in-place", "state", "paused")
	halted         = "tandem_rollout_halted"
	lastFailure    = "tandem_rollout_last_failure_timestamp_seconds"
	metricsTimeout = time.Minute
)

// waitLeaderMetrics polls the leader's metrics until ok holds, for at most
// metricsTimeout (a gauge follows what it counts by a moment), and returns them.
func waitLeaderMetrics(t *testing.T, want string, ok func(m map[string]float64) bool) map[string]float64 {
	t.Helper()
	var (
		last    map[string]float64
		lastErr error
		pod     string
	)
	err := wait.PollUntilContextTimeout(t.Context(), time.Second, metricsTimeout, true, func(ctx context.Context) (bool, error) {
		pod = leader(t, "").Name
		last, lastErr = metrics(ctx, pod)
		return lastErr == nil && ok(last), nil
	})
	if err != nil {
		t.Fatalf("the leader's metrics do not show %s within %s (leader %s, error %v): %v\n%s", want, metricsTimeout, pod, lastErr, err, rolloutSeries(last))
	}
	return last
}

// rolloutSeries renders the tandem_rollout_ series of m, for failure messages.
func rolloutSeries(m map[string]float64) string {
	var lines []string
	for k, v := range m {
		if strings.HasPrefix(k, "tandem_rollout_") {
			lines = append(lines, fmt.Sprintf("%s %v", k, v))
		}
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return "(no tandem_rollout_ series)"
	}
	return strings.Join(lines, "\n")
}

// setReplicas scales Tandem's Deployment, as an operator or an outage would, and waits
// until exactly that many pods exist, Ready: a pod on its way out still serves during
// its shutdown delay, and the Service sends it requests while no other pod is Ready.
func setReplicas(t *testing.T, n int) {
	t.Helper()
	patch := []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, n))
	if _, err := client.AppsV1().Deployments(tandemNS).Patch(t.Context(), release, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t)
	var have int
	err := wait.PollUntilContextTimeout(t.Context(), 500*time.Millisecond, startTimeout, true, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Pods(tandemNS).List(ctx, metav1.ListOptions{LabelSelector: tandemtest.TandemSelector})
		if err != nil {
			return false, nil
		}
		have = len(list.Items)
		return have == n, nil
	})
	if err != nil {
		t.Fatalf("Tandem has %d pods, terminating ones included, %s after scaling to %d: %v", have, startTimeout, n, err)
	}
}
