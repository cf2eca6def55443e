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
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// BenchmarkCreatePod creates pods that ask for seed and proxy, one after the other, in a
// namespace of each path: injected by tandem serve through the webhook, or by the compiled
// MutatingAdmissionPolicy (and checked by the ValidatingAdmissionPolicy) inside
// kube-apiserver. ns/op is the client's create latency. Beside it, per pod, the deltas of
// kube-apiserver's own metrics over the loop (see apiserverFigures) and the CPU time of
// kube-apiserver and of tandem serve. The dry-run variants admit the pod the same way but
// neither store it nor send it to watchers, which leaves admission a larger share of the
// request.
//
// TANDEM_K8S_BIN_DIR=... go test ./test/e2e/admissionpolicy -run '^$' -bench CreatePod -benchtime 300x
func BenchmarkCreatePod(b *testing.B) {
	for _, dryRun := range []bool{false, true} {
		for _, path := range []string{"webhook", "policy"} {
			name := path
			if dryRun {
				name += "/dry-run"
			}
			b.Run(name, func(b *testing.B) { benchCreate(b, path, dryRun) })
		}
	}
}

// The name of the webhook in the configuration tandemtest.Webhook registers.
const webhookName = "inject.tandem.io"

func benchCreate(b *testing.B, path string, dryRun bool) {
	ctx := context.Background()
	ns := benchNamespace(b, path)
	opts := metav1.CreateOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	pods := benchClient(b).CoreV1().Pods(ns)
	// Warm up: connections to the webhook, caches, the first pods of a namespace.
	for range 20 {
		if _, err := pods.Create(ctx, probe("seed,proxy"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			b.Fatal(err)
		}
	}
	// The processes' CPU is read from /proc rather than from process_cpu_seconds_total on
	// /metrics: a scrape of kube-apiserver's /metrics costs it tens of milliseconds of
	// CPU itself. What they spend when no pod is created (the controller-manager's
	// requests, timers, the garbage collector) is measured just before the loop, at the
	// same rate, and taken off.
	apiserver, tandem := apiserverPID(b), tandemPID(b)
	const idleWindow = 3 * time.Second
	apiIdle0, tandemIdle0 := cpuTime(b, apiserver), cpuTime(b, tandem)
	time.Sleep(idleWindow)
	apiIdle, tandemIdle := cpuTime(b, apiserver)-apiIdle0, cpuTime(b, tandem)-tandemIdle0
	// Every pod is checked to have been injected, outside of the timed loop.
	created := make([]*corev1.Pod, 0, 1000)
	before, tandemBefore := scrapeAPIServer(b), scrapeTandem(b)
	api0, tandem0, start := cpuTime(b, apiserver), cpuTime(b, tandem), time.Now()
	tk0, tt0 := ticksCPU(b, apiserver), ticksCPU(b, tandem)
	for b.Loop() {
		p, err := pods.Create(ctx, probe("seed,proxy"), opts)
		if err != nil {
			b.Fatal(err)
		}
		created = append(created, p)
	}
	api, tandemCPU, elapsed := cpuTime(b, apiserver)-api0, cpuTime(b, tandem)-tandem0, time.Since(start)
	b.Logf("ticks: api %.3f tandem %.3f; schedstat: api %.3f tandem %.3f", ticksCPU(b, apiserver)-tk0, ticksCPU(b, tandem)-tt0, api, tandemCPU)
	after, tandemAfter := scrapeAPIServer(b), scrapeTandem(b)
	for _, p := range created {
		if p.Annotations["tandem.io/status"] == "" || len(p.Spec.InitContainers) == 0 {
			b.Fatalf("pod %s was not injected: annotations %v", p.Name, p.Annotations)
		}
	}
	n := float64(b.N)
	perPod := func(seconds float64) float64 { return seconds / n * 1e6 } // µs per pod
	d := after.sub(before)
	for _, f := range apiserverFigures {
		b.ReportMetric(perPod(d.sum(f.name, f.labels)), f.unit)
	}
	idleShare := elapsed.Seconds() / idleWindow.Seconds()
	b.ReportMetric(perPod(api-apiIdle*idleShare), "apiserver-cpu-us/op")
	b.ReportMetric(perPod(tandemCPU-tandemIdle*idleShare), "tandem-cpu-us/op")
	b.Logf("%s: CPU over the loop of %v: kube-apiserver %.2fs (%.2fs idle), tandem serve %.2fs (%.2fs idle); tandem's answers: %v",
		b.Name(), elapsed.Round(time.Millisecond), api, apiIdle*idleShare, tandemCPU, tandemIdle*idleShare,
		tandemAfter.sub(tandemBefore).nonZero("tandem_admission_requests_total"))
	// What else went through admission meanwhile (the controller-manager's writes): if
	// these differ much from b.N, the per-pod figures include other objects.
	b.Logf("%s: %d pods; CREATE admissions: %.0f mutating, %.0f validating; webhook calls: %.0f; policy evaluations: %.0f",
		b.Name(), b.N,
		d.sum("apiserver_admission_step_admission_duration_seconds_count", map[string]string{"operation": "CREATE", "type": "admit"}),
		d.sum("apiserver_admission_step_admission_duration_seconds_count", map[string]string{"operation": "CREATE", "type": "validate"}),
		d.sum("apiserver_admission_webhook_admission_duration_seconds_count", map[string]string{"name": webhookName}),
		d.sum("apiserver_mutating_admission_policy_check_duration_seconds_count", nil))
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
	// The plugins that differ between the paths. Each runs on both paths (and finds
	// nothing to do on the other): MutatingAdmissionPolicy before MutatingAdmissionWebhook,
	// then ValidatingAdmissionPolicy among the validating plugins.
	{"map-plugin-us/op", "apiserver_admission_controller_admission_duration_seconds_sum", map[string]string{"operation": "CREATE", "name": "MutatingAdmissionPolicy"}},
	{"webhook-plugin-us/op", "apiserver_admission_controller_admission_duration_seconds_sum", map[string]string{"operation": "CREATE", "name": "MutatingAdmissionWebhook"}},
	{"vap-plugin-us/op", "apiserver_admission_controller_admission_duration_seconds_sum", map[string]string{"operation": "CREATE", "name": "ValidatingAdmissionPolicy"}},
	// One call of Tandem's webhook, as the API server times it: the AdmissionReview
	// encoded, sent over TLS, answered, decoded and its patch applied.
	{"webhook-call-us/op", "apiserver_admission_webhook_admission_duration_seconds_sum", map[string]string{"name": webhookName}},
	// One evaluation of the mutating policy's binding: its variables and mutations in
	// CEL, and the patch applied.
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

var (
	sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)`)
	labelRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

func parseSamples(body []byte) (samples, error) {
	var out samples
	for line := range bytes.Lines(body) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		m := sampleRE.FindSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("metrics: cannot read %q", line)
		}
		v, err := strconv.ParseFloat(string(m[3]), 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: %q: %v", line, err)
		}
		labels := map[string]string{}
		for _, l := range labelRE.FindAllSubmatch(m[2], -1) {
			labels[string(l[1])] = string(l[2])
		}
		out = append(out, sample{name: string(m[1]), labels: labels, value: v})
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

func (s samples) nonZero(name string) []string {
	var out []string
	for _, x := range s {
		if x.name == name && x.value != 0 {
			out = append(out, fmt.Sprint(x.labels, " ", x.value))
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
	s, err := parseSamples(body)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// scrapeTandem reads the webhook server's /metrics.
func scrapeTandem(b *testing.B) samples {
	b.Helper()
	resp, err := http.Get(webhook.Metrics)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	s, err := parseSamples(body)
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

// ticksCPU is the same from /proc/PID/stat (utime + stime), to compare.
func ticksCPU(b *testing.B, pid int) float64 {
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100
}
