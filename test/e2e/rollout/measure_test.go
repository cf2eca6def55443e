package rollout

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// The measurements docs/performance.md reports, on the node. They are benchmarks, run
// once each, not tests: `make test` does not run them, and nothing here judges a time.
//
//	TANDEM_K8S_BIN_DIR="$(hack/k8s-binaries.sh)" go test ./test/e2e/rollout -run XXX -bench . -benchtime 1x -timeout 30m

// BenchmarkRollout: a new proxy image reaching N running pods, in place with tandem
// rollout (--max-unavailable pods at a time), and through the Deployment's own rollout
// (what `kubectl rollout restart` starts: one new pod at a time, none taken down first).
func BenchmarkRollout(b *testing.B) {
	for _, c := range []struct {
		pods           int
		maxUnavailable string
	}{{4, "1"}, {20, "1"}, {20, "25%"}} {
		n := c.pods
		b.Run(fmt.Sprintf("pods=%d/max-unavailable=%s", n, c.maxUnavailable), func(b *testing.B) {
			serve(b, base)
			ns := tandemtest.Namespace(b, client, nil)
			createDeployment(b, ns, web("web", int32(n)))
			waitPods(b, ns, "app=web", n, proxyRuns(images.ProxyTag))
			serve(b, def{image: images.ProxyV2Tag, cpu: base.cpu, mark: base.mark})

			start := time.Now()
			if plan, code := roll(b, "-n", ns, "--apply", "--max-unavailable", c.maxUnavailable); code != 0 || !plan.Done() {
				b.Fatalf("tandem rollout --apply: exit %d, %s", code, counts(plan))
			}
			waitPods(b, ns, "app=web", n, proxyRuns(images.ProxyV2Tag))
			b.ReportMetric(time.Since(start).Seconds(), "s-in-place")

			before := waitPods(b, ns, "app=web", n, proxyRuns(images.ProxyV2Tag))
			start = time.Now()
			restartDeployment(b, ns, "web")
			waitPods(b, ns, "app=web", n, func(p *corev1.Pod) bool {
				return proxyRuns(images.ProxyV2Tag)(p) && !hasUID(before, p.UID)
			})
			b.ReportMetric(time.Since(start).Seconds(), "s-restart")
		})
	}
}

// BenchmarkProxyRestartDisruption: the app calls through the native proxy every 20 ms
// while tandem rollout changes the proxy's image in place; the app's own log says which
// calls failed while the proxy restarted.
func BenchmarkProxyRestartDisruption(b *testing.B) {
	serve(b, base)
	ns := tandemtest.Namespace(b, client, nil)
	d := web("busy", 1)
	d.Spec.Template.Spec.Containers[0].Args = []string{"-interval", "20ms"}
	createDeployment(b, ns, d)
	pod := waitPods(b, ns, "app=busy", 1, proxyRuns(images.ProxyTag))[0]
	serve(b, def{image: images.ProxyV2Tag, cpu: base.cpu, mark: base.mark})

	time.Sleep(2 * time.Second) // a steady state before
	start := time.Now()
	if plan, code := roll(b, "-n", ns, "--apply"); code != 0 || !plan.Done() {
		b.Fatalf("tandem rollout --apply: exit %d, %s", code, counts(plan))
	}
	time.Sleep(2 * time.Second) // and after
	end := time.Now()
	ok, failed, gap := appCalls(b, ns, pod.Name, start.Add(-2*time.Second), end)
	b.ReportMetric(float64(ok), "calls-ok")
	b.ReportMetric(float64(failed), "calls-failed")
	b.ReportMetric(gap.Seconds(), "s-longest-failing")
	b.ReportMetric(end.Sub(start).Seconds(), "s-window")
}

// appCalls counts the app's calls logged between from and to, and the longest run of
// failed ones, from its log's timestamps.
func appCalls(b *testing.B, ns, pod string, from, to time.Time) (ok, failed int, longest time.Duration) {
	since := metav1.NewTime(from)
	raw, err := client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: "app", Timestamps: true, SinceTime: &since}).DoRaw(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	var firstFail time.Time
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		stamp, line, _ := strings.Cut(sc.Text(), " ")
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil || at.After(to) || !strings.Contains(line, "app: request ") {
			continue
		}
		if strings.Contains(line, ": error ") {
			failed++
			if firstFail.IsZero() {
				firstFail = at
			}
			longest = max(longest, at.Sub(firstFail))
			continue
		}
		ok++
		firstFail = time.Time{}
	}
	return ok, failed, longest
}

// restartDeployment does what `kubectl rollout restart` does: a new annotation in the
// pod template.
func restartDeployment(b *testing.B, ns, name string) {
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339Nano))
	if _, err := client.AppsV1().Deployments(ns).Patch(b.Context(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		b.Fatal(err)
	}
}

func hasUID(pods []corev1.Pod, uid types.UID) bool {
	for _, p := range pods {
		if p.UID == uid {
			return true
		}
	}
	return false
}
