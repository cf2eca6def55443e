package rolloutcontroller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/tandem-io/tandem/internal/autorollout"
	"github.com/tandem-io/tandem/internal/rollout"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// def is what the tests change of the configuration: the proxy's image, and an env var
// it gives the app (a change a running pod cannot take).
type def struct{ image, mark string }

var base = def{image: images.ProxyTag, mark: "1"}

// yaml is the configuration: the demo proxy as a native sidecar. It is best-effort, so
// that pods are admitted without it while Tandem is down.
func (d def) yaml() string {
	return fmt.Sprintf(`sidecars:
  - name: proxy
    description: The demo proxy, a native sidecar.
    native: auto
    failurePolicy: ignore
    containers:
      - name: proxy
        image: %s
        imagePullPolicy: Never
        args: ["-listen", ":15001", "-admin", ":15000"]
        resources:
          requests: {cpu: 50m, memory: 32Mi}
          limits: {memory: 32Mi}
        startupProbe: {httpGet: {path: /ready, port: 15000}, periodSeconds: 1, failureThreshold: 30}
        readinessProbe: {httpGet: {path: /ready, port: 15000}, periodSeconds: 1}
    env:
      - {name: HTTP_PROXY, value: "http://127.0.0.1:15001"}
      - {name: PROXY_MARK, value: "%s"}
`, d.image, d.mark)
}

// other is the demo proxy's tag that d does not run.
func (d def) other() string {
	if d.image == images.ProxyTag {
		return images.ProxyV2Tag
	}
	return images.ProxyTag
}

// Event reasons and annotations of the controller.
const (
	reasonUpdated = autorollout.ReasonUpdated
	reasonFailed  = autorollout.ReasonFailed
	reasonRestart = autorollout.ReasonRestart
	failedKey     = autorollout.FailedKey
)

// rolloutTimeout bounds a rollout of a few pods, the configuration's way to every
// replica included: it takes tens of seconds, the rest is room for a loaded machine.
const rolloutTimeout = 3 * time.Minute

// namespace creates a namespace for one scenario, annotated, and when the test ends
// deletes it and waits until its pods are on their way out: the controller leaves such
// pods alone, so no later configuration change or count finds them.
func namespace(t *testing.T, annotations map[string]string) string {
	t.Helper()
	ns := tandemtest.Namespace(t, client, nil)
	if len(annotations) > 0 {
		annotate(t, ns, annotations)
	}
	t.Cleanup(func() {
		if t.Failed() {
			// Tandem's pods may be gone by the end of the run, and their logs with them.
			t.Logf("Tandem's logs:\n%s", tandemLogs(t))
		}
		ctx := context.Background()
		_ = client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		_ = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			return err == nil && !slices.ContainsFunc(list.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp == nil }), nil
		})
	})
	return ns
}

// annotate sets (or, with a value of "", removes) annotations of a namespace.
func annotate(t *testing.T, ns string, annotations map[string]string) {
	t.Helper()
	var parts []string
	for k, v := range annotations {
		if v == "" {
			parts = append(parts, fmt.Sprintf("%q:null", k))
		} else {
			parts = append(parts, fmt.Sprintf("%q:%q", k, v))
		}
	}
	patch := []byte(`{"metadata":{"annotations":{` + strings.Join(parts, ",") + `}}}`)
	if _, err := client.CoreV1().Namespaces().Patch(t.Context(), ns, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

var paused = map[string]string{rollout.PauseKey: rollout.PauseValue}

// web is a Deployment of the demo app asking for the proxy, replaced one surge pod at a
// time and never below its replicas.
func web(replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1))}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"tandem.io/inject": "proxy"}},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](2),
					Containers: []corev1.Container{{Name: "app", Image: images.AppTag, ImagePullPolicy: corev1.PullNever,
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/hello", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1}}},
				},
			},
		},
	}
}

// runWeb creates web with replicas in ns and waits until its pods run the proxy of the
// current configuration, Ready; it returns them by name.
func runWeb(t *testing.T, ns string, replicas int32) []corev1.Pod {
	t.Helper()
	if _, err := client.AppsV1().Deployments(ns).Create(t.Context(), web(replicas), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return waitPods(t, ns, int(replicas), startTimeout, "run the proxy "+current.image, proxyRuns(current.image))
}

// waitPods waits until exactly n pods of web run in ns, none being deleted, each done;
// it returns them by name. what says what done means, for the failure message.
func waitPods(t *testing.T, ns string, n int, timeout time.Duration, what string, done func(*corev1.Pod) bool) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, nil
		}
		pods = list.Items
		return len(pods) == n && !slices.ContainsFunc(pods, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil || !done(&p) }), nil
	})
	if err != nil {
		t.Fatalf("not %d pods of web in %s %s within %s: %v; have:\n%s", n, ns, what, timeout, err, describeAll(pods))
	}
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return pods
}

func describe(p *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (uid %s) phase %s", p.Name, p.UID, p.Status.Phase)
	if v, ok := p.Annotations[failedKey]; ok {
		fmt.Fprintf(&b, " %s=%s", failedKey, v)
	}
	if c, ok := tandemtest.Container(p, "proxy"); ok {
		fmt.Fprintf(&b, "; proxy spec %s", c.Image)
	}
	return b.String() + tandemtest.DescribeContainers(p)
}

func describeAll(pods []corev1.Pod) string {
	var lines []string
	for i := range pods {
		lines = append(lines, "  "+describe(&pods[i]))
	}
	return strings.Join(lines, "\n")
}

// checkSamePods checks that after are before's pods, by UID, and that the app never
// restarted.
func checkSamePods(t *testing.T, before, after []corev1.Pod) {
	t.Helper()
	for _, p := range after {
		if !slices.ContainsFunc(before, func(b corev1.Pod) bool { return b.UID == p.UID }) {
			t.Errorf("pod %s is new (UID %s): the change was meant in place", p.Name, p.UID)
		}
		if s, _ := tandemtest.ContainerStatus(&p, "app"); s.RestartCount != 0 {
			t.Errorf("pod %s: the app restarted %d times", p.Name, s.RestartCount)
		}
	}
}

// checkNewPods checks that none of after is one of before.
func checkNewPods(t *testing.T, before, after []corev1.Pod) {
	t.Helper()
	for _, p := range after {
		if slices.ContainsFunc(before, func(b corev1.Pod) bool { return b.UID == p.UID }) {
			t.Errorf("pod %s was not replaced", p.Name)
		}
	}
}

// proxyRestarts is each pod's proxy restart count, by UID.
func proxyRestarts(pods []corev1.Pod) map[types.UID]int32 {
	m := map[types.UID]int32{}
	for _, p := range pods {
		s, _ := tandemtest.ContainerStatus(&p, "proxy")
		m[p.UID] = s.RestartCount
	}
	return m
}

// sampler counts something of web's pods every 200 ms, keeping the most.
type sampler struct {
	mu      sync.Mutex
	most, n int
	cancel  context.CancelFunc
	done    chan struct{}
}

func sample(t *testing.T, ns string, count func([]corev1.Pod) int) *sampler {
	ctx, cancel := context.WithCancel(t.Context())
	s := &sampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ctx.Err() == nil {
			if list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"}); err == nil {
				v := count(list.Items)
				s.mu.Lock()
				s.most, s.n = max(s.most, v), s.n+1
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

// stop ends the sampling and returns the most counted, and how many samples.
func (s *sampler) stop() (most, samples int) {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.most, s.n
}

// unreadyProxies counts the pods whose proxy is not Ready.
func unreadyProxies(pods []corev1.Pod) int {
	n := 0
	for _, p := range pods {
		if s, ok := tandemtest.ContainerStatus(&p, "proxy"); !ok || !s.Ready {
			n++
		}
	}
	return n
}

// proxyRuns says the pod is Ready, running the proxy image, Ready.
func proxyRuns(image string) func(*corev1.Pod) bool { return tandemtest.RunsImage("proxy", image) }
