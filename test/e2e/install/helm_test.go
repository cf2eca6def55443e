package install

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/internal/selfcert"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// The release the Helm tests install: release tandem in namespace tandem-helm, so its
// objects are named tandem and its Secret tandem-certs.
const (
	helmNS     = "tandem-helm"
	release    = "tandem"
	certSecret = "tandem-certs"
)

// Certificates that rotate within the test: a serving certificate every 30 s, the CA
// every 75 s (trusted 5 s before it signs).
var shortLived = []string{
	"--set", "certificates.self.servingValidity=60s",
	"--set", "certificates.self.servingRenewBefore=30s",
	"--set", "certificates.self.caValidity=150s",
	"--set", "certificates.self.caRenewBefore=75s",
	"--set", "certificates.self.caPropagation=5s",
	"--set", "certificates.self.resync=5s",
}

// Tandem installed by `helm install`, with the demo configuration and certificates that
// rotate every few tens of seconds, through its life: cold start, the seed Deployment,
// RBAC, a lost replica, rotations, repairs, an upgrade, zero replicas, uninstall.
// The subtests run in order, each on what the previous left.
func TestHelmInstall(t *testing.T) {
	chart := tandemtest.RepoFile("deploy", "charts", "tandem")
	args := append([]string{"install", release, chart, "--namespace", helmNS, "--create-namespace",
		"--set", "image.repository=" + strings.Split(images.TandemTag, ":")[0],
		"--set", "image.tag=" + strings.Split(images.TandemTag, ":")[1],
		"--set", "image.pullPolicy=Never",
		// The audit's rights are checked with the rest: it adds a ClusterRole rule and the
		// Role's Lease rules.
		"--set", "audit.enabled=true",
		"--set-file", "config=" + tandemtest.RepoFile("examples", "demo", "config.yaml")}, shortLived...)
	helm(t, args...)
	t.Cleanup(func() {
		uninstall(t, func() { _, _ = cp.Helm(context.Background(), "uninstall", release, "-n", helmNS) }, helmNS, release)
	})

	t.Run("both replicas serve from a cold start and agree on one CA", func(t *testing.T) {
		waitReplicas(t, helmNS, release, 2)
		checkOneCA(t, helmNS, certSecret, release)
	})
	t.Run("the seed Deployment comes out labelled foo=bar with its sidecars, running", func(t *testing.T) {
		seedRuns(t)
	})
	t.Run("RBAC is what docs/install.md says", func(t *testing.T) {
		checkRBAC(t, helmNS, release, certSecret)
		checkAuditLease(t, helmNS, release+"-audit")
	})
	t.Run("the ServiceAccount can change only the caBundle, and still repairs it", func(t *testing.T) {
		checkCABundleOnly(t, helmNS, release, certSecret)
	})
	pods := tandemtest.Namespace(t, client, nil)
	t.Run("deleting a replica under load loses no pod", func(t *testing.T) {
		deleted := false
		l := createPods(t, pods, "lost-replica-", 60*time.Second, func(elapsed time.Duration) {
			if !deleted && elapsed > 10*time.Second {
				deleted = true
				victim := tandemPods(t, helmNS)[0]
				if err := client.CoreV1().Pods(helmNS).Delete(t.Context(), victim.Name, metav1.DeleteOptions{}); err != nil {
					t.Error(err)
				}
			}
		})
		l.check(t)
		waitReplicas(t, helmNS, release, 2)
	})
	t.Run("certificates rotate under load", func(t *testing.T) {
		seen := watchSecret(t, helmNS, certSecret)
		l := createPods(t, pods, "rotation-", 100*time.Second, nil)
		serving, cas := seen()
		t.Logf("serving certificates seen: %d; CAs seen: %d", serving, cas)
		l.check(t)
		if serving < 3 || cas < 2 {
			t.Errorf("saw %d serving certificates and %d CAs: the load did not span two serving and one CA rotation", serving, cas)
		}
	})
	t.Run("a blanked caBundle, a deleted and a garbage Secret are repaired", func(t *testing.T) {
		repairs(t, pods)
	})
	t.Run("helm upgrade with a new configuration needs no restart", func(t *testing.T) {
		before := tandemPods(t, helmNS)
		demo, err := os.ReadFile(tandemtest.RepoFile("examples", "demo", "config.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(string(demo), "foo: bar", "foo: upgraded", 1)
		if changed == string(demo) {
			t.Fatal("examples/demo/config.yaml no longer sets foo: bar")
		}
		file := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
		helm(t, "upgrade", release, chart, "--namespace", helmNS, "--reuse-values", "--set-file", "config="+file)
		waitConfigServed(t, helmNS, release+"-config")
		p, err := client.CoreV1().Pods(pods).Create(t.Context(), gatedPod("", map[string]string{"tandem.io/inject": "seed"}), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil || p.Labels["foo"] != "upgraded" {
			t.Fatalf("after every replica reloaded, a pod gets foo=%q (%v), want upgraded", p.Labels["foo"], err)
		}
		after := tandemPods(t, helmNS)
		for _, p := range after {
			if !slices.ContainsFunc(before, func(b corev1.Pod) bool { return b.UID == p.UID }) {
				t.Errorf("pod %s is new: the upgrade restarted Tandem", p.Name)
			}
			if p.Status.ContainerStatuses[0].RestartCount != 0 {
				t.Errorf("pod %s restarted %d times", p.Name, p.Status.ContainerStatuses[0].RestartCount)
			}
		}
	})
	t.Run("helm upgrade with a broken configuration fails and changes nothing", func(t *testing.T) {
		brokenUpgrade(t, chart, pods)
	})
	t.Run("scaled to zero, Tandem blocks only pods that need a mandatory sidecar", func(t *testing.T) {
		scaledToZero(t)
	})
	t.Run("helm uninstall leaves no webhook configuration", func(t *testing.T) {
		helm(t, "uninstall", release, "--namespace", helmNS, "--wait")
		if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(t.Context(), release, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the webhook configuration %s is still there after uninstall (%v)", release, err)
		}
		// Tandem made it, so Helm does not know it: docs/install.md says to delete it.
		if _, err := client.CoreV1().Secrets(helmNS).Get(t.Context(), certSecret, metav1.GetOptions{}); err != nil {
			t.Errorf("the Secret %s should stay after uninstall, as docs/install.md says: %v", certSecret, err)
		}
	})
}

// seedRuns creates the test Deployment of examples/test.yaml and checks its pod.
func seedRuns(t *testing.T) {
	t.Helper()
	ns := tandemtest.Namespace(t, client, nil)
	kubectl(t, "", "create", "-n", ns, "-f", tandemtest.RepoFile("examples", "test.yaml"))
	p, err := tandemtest.WaitForPodWhere(t.Context(), client, ns, "app=test", startTimeout, tandemtest.Ready)
	if err != nil {
		t.Fatalf("the seed pod is not Ready: %v\n%s", err, describe(p))
	}
	if p.Labels["foo"] != "bar" {
		t.Errorf("the seed pod lacks foo=bar: %v", p.Labels)
	}
	for _, name := range []string{"proxy", "test"} {
		i := slices.IndexFunc(append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...), func(s corev1.ContainerStatus) bool {
			return s.Name == name && s.Ready && s.State.Running != nil
		})
		if i < 0 {
			t.Errorf("container %s is not running and ready:\n%s", name, describe(p))
		}
	}
}

func describe(p *corev1.Pod) string {
	if p == nil {
		return "(no pod)"
	}
	return tandemtest.DescribePod(p) + podConditions(p)
}

// uninstall runs remove, then deletes the namespace and waits until the webhook
// configuration is gone, so that the next test starts with a cluster without Tandem.
func uninstall(t *testing.T, remove func(), ns, hook string) {
	remove()
	ctx := context.Background()
	_ = client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, hook, metav1.DeleteOptions{})
	_ = client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	_ = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

// watchSecret polls the Secret until the returned function is called, which tells how
// many different serving certificates and CAs it held.
func watchSecret(t *testing.T, ns, name string) func() (int, int) {
	ctx, cancel := context.WithCancel(t.Context())
	serving, cas := map[string]bool{}, map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if s, err := client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
				serving[string(s.Data[selfcert.KeyCert])] = true
				cas[string(s.Data[selfcert.KeyCA])] = true
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	return func() (int, int) {
		cancel()
		<-done
		return len(serving), len(cas)
	}
}

// brokenUpgrade upgrades to a configuration Tandem refuses: the chart's validation hook
// fails the upgrade, says why in its log, and the ConfigMap and the pods keep what the
// previous subtest installed.
func brokenUpgrade(t *testing.T, chart, pods string) {
	t.Helper()
	before, err := client.CoreV1().ConfigMaps(helmNS).Get(t.Context(), release+"-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(before.Data["config.yaml"], "failurePolicy: ignore", "failurePolicy: maybe", 1)
	if broken == before.Data["config.yaml"] {
		t.Fatal("the installed configuration has no failurePolicy: ignore to break")
	}
	file := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := cp.Helm(t.Context(), "upgrade", release, chart, "--namespace", helmNS, "--reuse-values", "--set-file", "config="+file)
	if err == nil {
		t.Fatalf("helm upgrade accepted a broken configuration:\n%s", out)
	}
	t.Logf("helm upgrade: %v", err)
	jobPods, err := client.CoreV1().Pods(helmNS).List(t.Context(), metav1.ListOptions{LabelSelector: "job-name=" + release + "-validate"})
	if err != nil || len(jobPods.Items) != 1 {
		t.Fatalf("want the validation Job's one pod: %v %v", jobPods, err)
	}
	log, err := client.CoreV1().Pods(helmNS).GetLogs(jobPods.Items[0].Name, &corev1.PodLogOptions{}).DoRaw(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), `failurePolicy: Unsupported value: "maybe"`) {
		t.Errorf("the validation Job's log does not name the problem:\n%s", log)
	}
	after, err := client.CoreV1().ConfigMaps(helmNS).Get(t.Context(), release+"-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Data["config.yaml"] != before.Data["config.yaml"] {
		t.Error("the failed upgrade changed the configuration")
	}
	p, err := client.CoreV1().Pods(pods).Create(t.Context(), gatedPod("", map[string]string{"tandem.io/inject": "seed"}), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil || p.Labels["foo"] != "upgraded" {
		t.Errorf("after the failed upgrade, a pod gets foo=%q (%v), want the configuration before it", p.Labels["foo"], err)
	}
}
