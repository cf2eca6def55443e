package admissionpolicy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
)

// BenchmarkCreatePod creates pods asking for seed and proxy, one after the other, in a
// namespace of each path: injected by tandem serve through the webhook, or by the
// compiled MutatingAdmissionPolicy (the ValidatingAdmissionPolicies checking what it
// would refuse or warn about) inside kube-apiserver. ns/op is the client's create latency. Beside it,
// per pod: kube-apiserver's own admission metrics over the loop (apiserverFigures), and
// the CPU time kube-apiserver and tandem serve spent on it. The dry-run variants admit
// the pod the same way but neither store it nor send it to watchers, so admission is
// a larger share of the request. Nothing here asserts a timing.
//
//	TANDEM_K8S_BIN_DIR="$(hack/k8s-binaries.sh)" go test ./test/e2e/admissionpolicy -run '^$' -bench CreatePod -benchtime 300x
//
// Repeat the command rather than give -count, which runs each variant's repetitions back
// to back: on a shared machine the paths must take turns (docs/performance.md).
func BenchmarkCreatePod(b *testing.B) {
	// The paths take turns first, so that a drift of the machine or of the API server
	// over the run does not favour one.
	for _, v := range []struct {
		path   string
		dryRun bool
	}{{"webhook", false}, {"policy", false}, {"policy", true}, {"webhook", true}} {
		name := v.path
		if v.dryRun {
			name += "/dry-run"
		}
		b.Run(name, func(b *testing.B) { benchCreate(b, v.path, v.dryRun) })
	}
}

// warmedUp is set once the first benchmark has warmed the API server up.
var warmedUp bool

// warmUp creates 300 pods (dry-run) on both paths in turn, before the first benchmark:
// a freshly started API server is still busy for a while, and slower.
func warmUp(b *testing.B) {
	b.Helper()
	c := benchClient(b)
	webhookPods, policyPods := c.CoreV1().Pods(benchNamespace(b, "webhook")), c.CoreV1().Pods(benchNamespace(b, "policy"))
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	for range 150 {
		for _, pods := range []corev1client.PodInterface{webhookPods, policyPods} {
			if _, err := pods.Create(context.Background(), probe("seed,proxy"), dry); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// webhookName is the name of the webhook in the configuration tandemtest.Webhook writes.
const webhookName = "inject.tandem.io"

func benchCreate(b *testing.B, path string, dryRun bool) {
	ctx := context.Background()
	pods := benchClient(b).CoreV1().Pods(benchNamespace(b, path))
	opts := metav1.CreateOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if !warmedUp {
		warmUp(b)
		warmedUp = true
	}
	// Warm up: the API server's connection to the webhook, its caches.
	for range 20 {
		if _, err := pods.Create(ctx, probe("seed,proxy"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time is read from /proc, not from process_cpu_seconds_total on /metrics: a
	// scrape of kube-apiserver's /metrics costs it tens of milliseconds of CPU, and the
	// counter has the resolution of a clock tick. What the processes spend with no pod
	// being created (the controller-manager's requests, timers, the garbage collector)
	// is measured just before the loop and taken off at the same rate.
	apiserver, tandem := apiserverPID(b), tandemPID(b)
	idle := idleRates(b, apiserver, tandem)
	apiIdle, tandemIdle := idle[0], idle[1]

	created := make([]*corev1.Pod, 0, 1000)
	before, tandemBefore := scrapeAPIServer(b), scrapeTandem(b)
	api0, tandem0, start := cpuTime(b, apiserver), cpuTime(b, tandem), time.Now()
	for b.Loop() {
		p, err := pods.Create(ctx, probe("seed,proxy"), opts)
		if err != nil {
			b.Fatal(err)
		}
		created = append(created, p)
	}
	api, tandemCPU, elapsed := cpuTime(b, apiserver)-api0, cpuTime(b, tandem)-tandem0, time.Since(start).Seconds()
	after, tandemAfter := scrapeAPIServer(b), scrapeTandem(b)

	for _, p := range created {
		if p.Annotations["tandem.io/status"] == "" || len(p.Spec.InitContainers) == 0 {
			b.Fatalf("pod %s was not injected: annotations %v", p.Name, p.Annotations)
		}
	}
	perPod := func(seconds float64) float64 { return seconds / float64(b.N) * 1e6 } // µs
	d := after.sub(before)
	for _, f := range apiserverFigures {
		b.ReportMetric(perPod(d.sum(f.name, f.labels)), f.unit)
	}
	b.ReportMetric(perPod(api-apiIdle*elapsed), "apiserver-cpu-us/op")
	b.ReportMetric(perPod(tandemCPU-tandemIdle*elapsed), "tandem-cpu-us/op")
	// The counts behind the figures: admissions of other objects (the controller-
	// manager's) would show as more CREATE admissions than pods.
	b.Logf("%d pods in %.2fs; CREATE admissions: %.0f mutating, %.0f validating; calls to the webhook: %.0f, answered %v; evaluations of the mutating policy: %.0f",
		b.N, elapsed,
		d.sum("apiserver_admission_step_admission_duration_seconds_count", map[string]string{"operation": "CREATE", "type": "admit"}),
		d.sum("apiserver_admission_step_admission_duration_seconds_count", map[string]string{"operation": "CREATE", "type": "validate"}),
		d.sum("apiserver_admission_webhook_admission_duration_seconds_count", map[string]string{"name": webhookName}),
		tandemAfter.sub(tandemBefore).nonZero("tandem_admission_requests_total", "result"),
		d.sum("apiserver_mutating_admission_policy_check_duration_seconds_count", nil))
	b.Logf("CPU over the loop: kube-apiserver %.2fs, of which %.2fs at its idle rate; tandem serve %.3fs, of which %.3fs idle",
		api, apiIdle*elapsed, tandemCPU, tandemIdle*elapsed)
	if td := tandemAfter.sub(tandemBefore); td.sum("tandem_admission_duration_seconds_count", nil) > 0 {
		b.Logf("tandem serve's own time per call (tandem_admission_duration_seconds): %.0fµs",
			td.sum("tandem_admission_duration_seconds_sum", nil)/td.sum("tandem_admission_duration_seconds_count", nil)*1e6)
	}
}

// apiserverFigures are kube-apiserver's admission metrics reported per pod: the sum of
// the histogram's observations over the loop, divided by the number of pods.
var apiserverFigures = []struct {
	unit, name string
	labels     map[string]string
}{
	// The whole mutating and validating steps of admission: every admission plugin, the
	// built-in ones included, so they compare the paths as a whole.
	{"admit-us/op", "apiserver_admission_step_admission_duration_seconds_sum", map[string]string{"operation": "CREATE", "type": "admit"}},
	{"validate-us/op", "apiserver_admission_step_admission_duration_seconds_sum", map[string]string{"operation": "CREATE", "type": "validate"}},
	// The plugins that differ between the paths, each over all its invocations for the
	// request (the mutating plugins run a second time when a mutation changed the pod).
	// Each runs on both paths and finds nothing to do on the other one:
	// MutatingAdmissionPolicy before MutatingAdmissionWebhook, ValidatingAdmissionPolicy
	// among the validating plugins.
	{"map-plugin-us/op", "apiserver_admission_controller_admission_duration_seconds_sum", map[string]string{"operation": "CREATE", "name": "MutatingAdmissionPolicy"}},
	{"webhook-plugin-us/op", "apiserver_admission_controller_admission_duration_seconds_sum", map[string]string{"operation": "CREATE", "name": "MutatingAdmissionWebhook"}},
	{"vap-plugin-us/op", "apiserver_admission_controller_admission_duration_seconds_sum", map[string]string{"operation": "CREATE", "name": "ValidatingAdmissionPolicy"}},
	// The calls of Tandem's webhook as the API server times each: the AdmissionReview
	// encoded, sent over TLS, answered, decoded, and its patch applied.
	{"webhook-call-us/op", "apiserver_admission_webhook_admission_duration_seconds_sum", map[string]string{"name": webhookName}},
	// The mutating policy's mutation as the API server times it: its CEL evaluated
	// (with the variables it reads), the JSON patch applied, the pod converted back
	// and defaulted. Its matchConditions and binding are evaluated before, outside.
	{"map-eval-us/op", "apiserver_mutating_admission_policy_check_duration_seconds_sum", nil},
}

// benchClient is the package's client without client-go's default rate limit (5
// requests a second), which would otherwise be what the benchmark measures.
func benchClient(b *testing.B) kubernetes.Interface {
	b.Helper()
	cfg := rest.CopyConfig(cp.RESTConfig)
	cfg.QPS, cfg.Burst = -1, 0
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// benchNamespace creates a namespace on path and, when the benchmark ends, deletes it
// and waits until it is gone, so that deleting its pods does not load the API server
// during the next benchmark.
func benchNamespace(b *testing.B, path string) string {
	b.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-" + path + "-", Labels: map[string]string{pathLabel: path}}}
	ns, err := client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx := context.Background()
		if err := client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
			b.Errorf("deleting namespace %s: %v", ns.Name, err)
			return
		}
		err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			b.Errorf("namespace %s is still there: %v", ns.Name, err)
		}
	})
	// The ServiceAccount admission plugin needs the default ServiceAccount.
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		b.Fatalf("namespace %s has no default ServiceAccount: %v", ns.Name, err)
	}
	return ns.Name
}

// samples are the values of a Prometheus text exposition, by name and labels.
type samples []sample

type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseSamples reads the Prometheus text format into samples; a histogram or summary
// gives its NAME_sum and NAME_count, the series the figures use.
func parseSamples(r io.Reader) (samples, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	var out samples
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			add := func(name string, v float64) { out = append(out, sample{name: name, labels: labels, value: v}) }
			switch {
			case m.Histogram != nil:
				add(name+"_sum", m.GetHistogram().GetSampleSum())
				add(name+"_count", float64(m.GetHistogram().GetSampleCount()))
			case m.Summary != nil:
				add(name+"_sum", m.GetSummary().GetSampleSum())
				add(name+"_count", float64(m.GetSummary().GetSampleCount()))
			case m.Counter != nil:
				add(name, m.GetCounter().GetValue())
			case m.Gauge != nil:
				add(name, m.GetGauge().GetValue())
			case m.Untyped != nil:
				add(name, m.GetUntyped().GetValue())
			}
		}
	}
	return out, nil
}

// sum adds the samples of name whose labels include labels.
func (s samples) sum(name string, labels map[string]string) float64 {
	var total float64
next:
	for _, x := range s {
		if x.name != name {
			continue
		}
		for k, v := range labels {
			if x.labels[k] != v {
				continue next
			}
		}
		total += x.value
	}
	return total
}

// nonZero lists the samples of name that are not zero, by the value of label.
func (s samples) nonZero(name, label string) map[string]float64 {
	out := map[string]float64{}
	for _, x := range s {
		if x.name == name && x.value != 0 {
			out[x.labels[label]] += x.value
		}
	}
	return out
}

// sub is s less before, series by series; series that are new count from zero.
func (s samples) sub(before samples) samples {
	key := func(x sample) string { return fmt.Sprint(x.name, x.labels) } // fmt sorts map keys
	then := make(map[string]float64, len(before))
	for _, x := range before {
		then[key(x)] = x.value
	}
	out := make(samples, len(s))
	for i, x := range s {
		out[i] = sample{name: x.name, labels: x.labels, value: x.value - then[key(x)]}
	}
	return out
}

// scrapeAPIServer reads kube-apiserver's /metrics as its admin.
func scrapeAPIServer(b *testing.B) samples {
	b.Helper()
	body, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return mustParse(b, bytes.NewReader(body))
}

// scrapeTandem reads the webhook server's /metrics.
func scrapeTandem(b *testing.B) samples {
	b.Helper()
	resp, err := http.Get(webhook.Metrics)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	return mustParse(b, resp.Body)
}

func mustParse(b *testing.B, r io.Reader) samples {
	b.Helper()
	s, err := parseSamples(r)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// apiserverPID finds kube-apiserver by the port it serves on.
func apiserverPID(b *testing.B) int {
	b.Helper()
	u, err := url.Parse(cp.APIServerURL)
	if err != nil {
		b.Fatal(err)
	}
	return pidOf(b, "kube-apiserver", "--secure-port="+u.Port())
}

// tandemPID finds tandem serve by the address of its /metrics.
func tandemPID(b *testing.B) int {
	b.Helper()
	u, err := url.Parse(webhook.Metrics)
	if err != nil {
		b.Fatal(err)
	}
	return pidOf(b, filepath.Base(bin), "--metrics-address", u.Host)
}

// pidOf returns the process whose executable is named command and whose arguments
// include args in a row.
func pidOf(b *testing.B, command string, args ...string) int {
	b.Helper()
	want := "\x00" + strings.Join(args, "\x00") + "\x00"
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range dirs {
		cmdline, err := os.ReadFile(f)
		if err != nil {
			continue // gone since
		}
		argv0, _, _ := bytes.Cut(cmdline, []byte{0})
		if filepath.Base(string(argv0)) == command && bytes.Contains(cmdline, []byte(want)) {
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			if err != nil {
				b.Fatal(err)
			}
			return pid
		}
	}
	b.Skipf("no process %s %s in /proc: this benchmark reads the CPU time of local processes on Linux", command, strings.Join(args, " "))
	return 0
}

// cpuTime is the CPU time process pid has had so far, in seconds: the sum over its
// threads of the scheduler's count, to the nanosecond (/proc/PID/stat counts in clock
// ticks of 10 ms, too coarse for a server that is idle between requests). A thread that
// has exited is no longer counted; the Go runtime keeps its threads.
func cpuTime(b *testing.B, pid int) float64 {
	b.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		b.Fatalf("process %d: no /proc/%d/task/*/schedstat (%v)", pid, pid, err)
	}
	var ns float64
	for _, f := range tasks {
		stat, err := os.ReadFile(f)
		if err != nil {
			continue // the thread has exited
		}
		onCPU, _, _ := strings.Cut(string(stat), " ")
		v, err := strconv.ParseFloat(onCPU, 64)
		if err != nil {
			b.Fatalf("%s: %q", f, stat)
		}
		ns += v
	}
	return ns / 1e9
}

// idleRates are the CPU that each process spends a second while nothing is asked of
// it: the least of three one-second windows, so that only its steady background is
// taken off, not a burst (a garbage collection) that happened to fall in a window.
func idleRates(b *testing.B, pids ...int) []float64 {
	b.Helper()
	windows := make([][3]float64, len(pids))
	for w := range 3 {
		t0, start := make([]float64, len(pids)), time.Now()
		for i, pid := range pids {
			t0[i] = cpuTime(b, pid)
		}
		time.Sleep(time.Second)
		for i, pid := range pids {
			windows[i][w] = (cpuTime(b, pid) - t0[i]) / time.Since(start).Seconds()
		}
	}
	rates := make([]float64, len(pids))
	for i, w := range windows {
		rates[i] = slices.Min(w[:])
	}
	return rates
}
