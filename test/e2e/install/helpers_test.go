package install

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/internal/selfcert"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// startTimeout bounds how long pods may take to run; here it takes seconds, the rest
// is room for a loaded machine.
const startTimeout = 2 * time.Minute

// kubectl runs kubectl (stdin may be empty) and fails the test on error.
func kubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), cp.KubectlPath, append([]string{"--kubeconfig", cp.KubeconfigPath}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// helm runs the pinned helm and fails the test on error.
func helm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := cp.Helm(t.Context(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// waitReplicas waits until the Deployment has exactly n Ready replicas and n pods.
func waitReplicas(t *testing.T, ns, name string, n int32) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 500*time.Millisecond, startTimeout, true, func(ctx context.Context) (bool, error) {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		pods := tandemPods(t, ns)
		last = fmt.Sprintf("%d ready of %d, %d pods", d.Status.ReadyReplicas, d.Status.Replicas, len(pods))
		return d.Status.ReadyReplicas == n && int32(len(pods)) == n, nil
	})
	if err != nil {
		pods := tandemPods(t, ns)
		why := ""
		if len(pods) > 0 {
			why = tandemtest.DescribePod(&pods[0]) + podConditions(&pods[0])
		}
		t.Fatalf("deployment %s/%s: not %d Ready replicas within %s (%s): %v\n%s", ns, name, n, startTimeout, last, err, why)
	}
}

func podConditions(p *corev1.Pod) string {
	var b strings.Builder
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, "  %s=%s %s\n", c.Type, c.Status, c.Message)
	}
	for _, s := range p.Status.ContainerStatuses {
		fmt.Fprintf(&b, "  container %s ready=%v restarts=%d state=%+v\n", s.Name, s.Ready, s.RestartCount, s.State)
	}
	return b.String()
}

// tandemPods lists Tandem's pods that are not on their way out.
func tandemPods(t *testing.T, ns string) []corev1.Pod {
	t.Helper()
	pods, err := tandemtest.TandemPods(t.Context(), client, ns)
	if err != nil {
		t.Fatal(err)
	}
	return pods
}

// tandemLogs is every Tandem pod's log, one after the other.
func tandemLogs(t *testing.T, ns string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range tandemPods(t, ns) {
		out, err := client.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: "tandem"}).DoRaw(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		b.Write(out)
	}
	return b.String()
}

// checkOneCA checks that the replicas, started together with no Secret, agreed on one
// CA: one of them made it, and every entry's caBundle is the Secret's.
func checkOneCA(t *testing.T, ns, secret, hook string) {
	t.Helper()
	if n := strings.Count(tandemLogs(t, ns), "new CA: no usable CA"); n != 1 {
		t.Errorf("%d replicas made a CA; replicas starting together must agree on one", n)
	}
	s, err := client.CoreV1().Secrets(ns).Get(t.Context(), secret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := waitCABundle(t, hook, selfcert.Bundle(s.Data)); err != nil {
		t.Error(err)
	}
}

// waitCABundle waits until every entry of the webhook configuration carries bundle.
func waitCABundle(t *testing.T, hook string, bundle []byte) error {
	t.Helper()
	var cfg *admissionregistrationv1.MutatingWebhookConfiguration
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		if cfg, err = client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, hook, metav1.GetOptions{}); err != nil {
			return false, nil
		}
		return !slices.ContainsFunc(cfg.Webhooks, func(w admissionregistrationv1.MutatingWebhook) bool {
			return !bytes.Equal(w.ClientConfig.CABundle, bundle)
		}), nil
	})
	if err != nil {
		return fmt.Errorf("the entries of %s do not all carry the Secret's CA bundle: %w", hook, err)
	}
	return nil
}

// gatedPod is a pod that asks for sidecars and is never scheduled (a scheduling gate
// nobody lifts): load tests create hundreds without running them.
// An empty name lets the API server generate one.
func gatedPod(name string, annotations map[string]string) *corev1.Pod {
	meta := metav1.ObjectMeta{Name: name, Annotations: annotations}
	if name == "" {
		meta.GenerateName = "gated-"
	}
	return &corev1.Pod{
		ObjectMeta: meta,
		Spec: corev1.PodSpec{
			SchedulingGates: []corev1.PodSchedulingGate{{Name: "e2e.tandem.io/never"}},
			Containers:      []corev1.Container{{Name: "app", Image: images.AppTag}},
		},
	}
}

// load counts what came of creating pods: one without the label foo=bar was admitted
// without its sidecar.
type load struct {
	created, uninjected int
	failed              []string
}

// createPods starts the creation of one gated pod asking for seed every 100 ms for d,
// each without waiting for the previous, so the rate holds however slow admission gets;
// during is called before each with the time elapsed.
func createPods(t *testing.T, ns, prefix string, d time.Duration, during func(elapsed time.Duration)) load {
	t.Helper()
	var (
		l  load
		mu sync.Mutex
		wg sync.WaitGroup
	)
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	start := time.Now()
	for i := 0; time.Since(start) < d; i++ {
		<-ticker.C
		if during != nil {
			during(time.Since(start))
		}
		wg.Go(func() {
			p, err := client.CoreV1().Pods(ns).Create(t.Context(), gatedPod(prefix+strconv.Itoa(i), map[string]string{"tandem.io/inject": "seed"}), metav1.CreateOptions{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				l.failed = append(l.failed, err.Error())
			case p.Labels["foo"] != "bar":
				l.uninjected++
				l.created++
			default:
				l.created++
			}
		})
	}
	wg.Wait()
	return l
}

func (l load) check(t *testing.T) {
	t.Helper()
	t.Logf("%d pods created, %d creations failed, %d created without their sidecar", l.created, len(l.failed), l.uninjected)
	if len(l.failed) > 0 || l.uninjected > 0 || l.created == 0 {
		t.Errorf("%d creations failed and %d pods lack their sidecar (of %d); first failures: %v",
			len(l.failed), l.uninjected, l.created, l.failed[:min(len(l.failed), 3)])
	}
}

// waitConfigServed waits until every Tandem replica in namespace has loaded the
// configuration the ConfigMap holds now.
func waitConfigServed(t *testing.T, namespace, configMap string) {
	t.Helper()
	cm, err := client.CoreV1().ConfigMaps(namespace).Get(t.Context(), configMap, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(cm.Data["config.yaml"]))
	digest := hex.EncodeToString(sum[:])
	if err := tandemtest.WaitConfigServed(t.Context(), client, namespace, digest, startTimeout); err != nil {
		t.Fatalf("not every replica logged loading the configuration with sha256 %s: %v\n%s", digest, err, tandemLogs(t, namespace))
	}
}
