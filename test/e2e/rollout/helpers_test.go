package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/tandem-io/tandem/internal/rollout"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// def is what the tests change of the configuration: the proxy's image and CPU request,
// and an env var it gives the app.
type def struct{ image, cpu, mark string }

var base = def{image: images.ProxyTag, cpu: "50m", mark: "1"}

// yaml is the configuration: the demo proxy as a native sidecar, and the demo log
// shipper as a classic one.
func (d def) yaml() string {
	return fmt.Sprintf(`sidecars:
  - name: proxy
    description: The demo proxy, a native sidecar.
    native: auto
    containers:
      - name: proxy
        image: %s
        imagePullPolicy: Never
        args: ["-listen", ":15001", "-admin", ":15000"]
        resources:
          requests: {cpu: %s, memory: 32Mi}
          limits: {memory: 32Mi}
        startupProbe: {httpGet: {path: /ready, port: 15000}, periodSeconds: 1, failureThreshold: 30}
        readinessProbe: {httpGet: {path: /ready, port: 15000}, periodSeconds: 1}
    env:
      - {name: HTTP_PROXY, value: "http://127.0.0.1:15001"}
      - {name: PROXY_MARK, value: "%s"}
  - name: logs
    description: The demo log shipper, a classic sidecar.
    native: never
    containers:
      - name: logs
        image: %s
        imagePullPolicy: Never
        args: ["/var/log/app/app.log"]
        volumeMounts: [{name: app-logs, mountPath: /var/log/app, readOnly: true}]
    volumes: [{name: app-logs, emptyDir: {}}]
    volumeMounts: [{name: app-logs, mountPath: /var/log/app}]
`, d.image, d.cpu, d.mark, images.LogsTag)
}

// serve writes d as the configuration and waits until the webhook injects it.
func serve(t testing.TB, d def) {
	t.Helper()
	tmp := configFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(d.yaml()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, configFile); err != nil {
		t.Fatal(err)
	}
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-", Annotations: map[string]string{"tandem.io/inject": "proxy,logs"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: images.AppTag}}},
	}
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		i := slices.IndexFunc(p.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == "proxy" })
		if i < 0 {
			last = "no proxy injected"
			return false, nil
		}
		proxy := p.Spec.InitContainers[i]
		cpu := proxy.Resources.Requests[corev1.ResourceCPU]
		last = fmt.Sprintf("image %s, cpu %s, env %v", proxy.Image, cpu.String(), p.Spec.Containers[0].Env)
		return proxy.Image == d.image && cpu.String() == d.cpu && slices.Contains(p.Spec.Containers[0].Env, corev1.EnvVar{Name: "PROXY_MARK", Value: d.mark}), nil
	})
	if err != nil {
		t.Fatalf("the webhook does not serve %+v: %v; it injects %s", d, err, last)
	}
}

// cli runs the test's tandem with args against the test cluster.
func cli(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, append(args, "--kubeconfig", cp.KubeconfigPath)...)
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

// roll runs tandem rollout -o json against the configuration file, and decodes the report.
func roll(t testing.TB, args ...string) (*rollout.Plan, int) {
	t.Helper()
	stdout, stderr, code := cli(t, append([]string{"rollout", "--config", configFile, "-o", "json"}, args...)...)
	var p rollout.Plan
	if err := json.Unmarshal([]byte(stdout), &p); err != nil {
		t.Fatalf("tandem rollout %s (exit %d): %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, err, stdout, stderr)
	}
	t.Logf("tandem rollout %s: exit %d, counts %v\nstderr: %s", strings.Join(args, " "), code, p.Counts, stderr)
	return &p, code
}

// web is a Deployment of the demo app asking for both sidecars, replaced one surge pod
// at a time and never below its replicas.
func web(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1))}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"tandem.io/inject": "proxy,logs"}},
				Spec:       appPod(),
			},
		},
	}
}

func appPod() corev1.PodSpec {
	return corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](2),
		Containers: []corev1.Container{{Name: "app", Image: images.AppTag, ImagePullPolicy: corev1.PullNever,
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/hello", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1}}},
	}
}

func createDeployment(t testing.TB, ns string, d *appsv1.Deployment) {
	t.Helper()
	if _, err := client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitPods waits until exactly n pods match selector, none being deleted, each done;
// it returns them by name.
func waitPods(t testing.TB, ns, selector string, n int, done func(*corev1.Pod) bool) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, nil
		}
		pods = list.Items
		if len(pods) != n {
			return false, nil
		}
		for i := range pods {
			if pods[i].DeletionTimestamp != nil || !done(&pods[i]) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		var states []string
		for i := range pods {
			states = append(states, describe(&pods[i]))
		}
		t.Fatalf("pods %s in %s: want %d done: %v; have:\n%s", selector, ns, n, err, strings.Join(states, "\n"))
	}
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return pods
}

// sampler counts something of a set of pods every 200 ms, keeping the least and most.
type sampler struct {
	mu       sync.Mutex
	min, max int
	n        int
	cancel   context.CancelFunc
	done     chan struct{}
}

func sample(t *testing.T, ns, selector string, count func([]corev1.Pod) int) *sampler {
	ctx, cancel := context.WithCancel(t.Context())
	s := &sampler{min: 1 << 30, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ctx.Err() == nil {
			if list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector}); err == nil {
				v := count(list.Items)
				s.mu.Lock()
				s.min, s.max, s.n = min(s.min, v), max(s.max, v), s.n+1
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the least and most counted, and how many samples.
func (s *sampler) stop() (least, most, samples int) {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.min, s.max, s.n
}

func describe(p *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s phase %s", p.Name, p.Status.Phase)
	return b.String() + tandemtest.DescribeContainers(p)
}

func counts(p *rollout.Plan) string { return fmt.Sprint(p.Counts) }

func isExists(err error) bool { return apierrors.IsAlreadyExists(err) }

// proxyRuns says the pod is Ready, running the proxy image, Ready.
func proxyRuns(image string) func(*corev1.Pod) bool { return tandemtest.RunsImage("proxy", image) }
