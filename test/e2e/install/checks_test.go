package install

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/internal/selfcert"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// checkRBAC asks the API server what Tandem's ServiceAccount may do, for everything
// docs/install.md lists and for what it must not do.
func checkRBAC(t *testing.T, ns, name, secret string) {
	as := "system:serviceaccount:" + ns + ":" + name
	for _, c := range []struct {
		allowed bool
		args    []string
	}{
		{true, []string{"get", "namespaces"}},
		{true, []string{"list", "namespaces"}},
		{true, []string{"watch", "namespaces"}},
		{true, []string{"create", "secrets", "-n", ns}},
		{true, []string{"get", "secret/" + secret, "-n", ns}},
		{true, []string{"list", "secret/" + secret, "-n", ns}},
		{true, []string{"watch", "secret/" + secret, "-n", ns}},
		{true, []string{"update", "secret/" + secret, "-n", ns}},
		{true, []string{"get", "mutatingwebhookconfigurations/" + name}},
		{true, []string{"list", "mutatingwebhookconfigurations/" + name}},
		{true, []string{"watch", "mutatingwebhookconfigurations/" + name}},
		{true, []string{"update", "mutatingwebhookconfigurations/" + name}},
		// The audit (audit.enabled).
		{true, []string{"list", "pods", "--all-namespaces"}},
		{true, []string{"watch", "pods", "--all-namespaces"}},
		{true, []string{"create", "leases", "-n", ns}},
		{true, []string{"get", "leases/" + name + "-audit", "-n", ns}},
		{true, []string{"update", "leases/" + name + "-audit", "-n", ns}},

		{false, []string{"get", "secret/other", "-n", ns}},
		{false, []string{"list", "secrets", "-n", ns}},
		{false, []string{"get", "secret/" + secret, "-n", "default"}},
		{false, []string{"get", "secrets", "-n", "kube-system"}},
		{false, []string{"delete", "secret/" + secret, "-n", ns}},
		{false, []string{"patch", "secret/" + secret, "-n", ns}},
		{false, []string{"update", "mutatingwebhookconfigurations/other"}},
		{false, []string{"list", "mutatingwebhookconfigurations"}},
		{false, []string{"create", "mutatingwebhookconfigurations"}},
		{false, []string{"delete", "mutatingwebhookconfigurations/" + name}},
		{false, []string{"update", "validatingwebhookconfigurations/" + name}},
		{false, []string{"update", "namespaces"}},
		{false, []string{"get", "pods", "-n", ns}},
		{false, []string{"create", "pods", "-n", "default"}},
		{false, []string{"get", "configmaps", "-n", ns}},
		{false, []string{"update", "leases/other", "-n", ns}},
		{false, []string{"delete", "leases/" + name + "-audit", "-n", ns}},
		{false, []string{"list", "leases", "-n", ns}},
		{false, []string{"create", "leases", "-n", "default"}},
		{false, []string{"list", "replicasets", "--all-namespaces"}},
	} {
		args := append([]string{"--kubeconfig", cp.KubeconfigPath, "auth", "can-i", "--as", as}, c.args...)
		out, err := exec.CommandContext(t.Context(), cp.KubectlPath, args...).Output()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)) == "yes" && err == nil; got != c.allowed {
			t.Errorf("kubectl auth can-i %s: %q, want allowed=%v", strings.Join(c.args, " "), strings.TrimSpace(string(out)), c.allowed)
		}
	}
}

// repairs breaks what Tandem keeps — the caBundle, the Secret — and checks it is put
// back, with the certificates in use, and that pods are injected again.
func repairs(t *testing.T, pods string) {
	t.Helper()
	secret := func() map[string][]byte {
		s, err := client.CoreV1().Secrets(helmNS).Get(t.Context(), certSecret, metav1.GetOptions{})
		if err != nil {
			return nil
		}
		return s.Data
	}
	restarts := func() int32 {
		var n int32
		for _, p := range tandemPods(t, helmNS) {
			n += p.Status.ContainerStatuses[0].RestartCount
		}
		return n
	}
	before := restarts()

	cfg, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(t.Context(), release, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].ClientConfig.CABundle = nil
	}
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(t.Context(), cfg, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitCABundle(t, release, selfcert.Bundle(secret())); err != nil {
		t.Errorf("blanked caBundle: %v", err)
	}
	active(t, pods, "after the caBundle was blanked")

	ca := secret()[selfcert.KeyCA]
	if err := client.CoreV1().Secrets(helmNS).Delete(t.Context(), certSecret, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSecret(t, "deleted", func(data map[string][]byte) bool { return data != nil })
	if !bytes.Equal(secret()[selfcert.KeyCA], ca) {
		t.Error("the recreated Secret holds another CA: the API server would stop trusting the replicas")
	}
	active(t, pods, "after the Secret was deleted")

	ca = secret()[selfcert.KeyCA]
	s, err := client.CoreV1().Secrets(helmNS).Get(t.Context(), certSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Data = map[string][]byte{selfcert.KeyCA: []byte("garbage"), selfcert.KeyCert: []byte("more garbage")}
	if _, err := client.CoreV1().Secrets(helmNS).Update(t.Context(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSecret(t, "garbage", func(data map[string][]byte) bool { return bytes.Equal(data[selfcert.KeyCA], ca) })
	if !strings.Contains(tandemLogs(t, helmNS), "the Secret was missing or unusable: wrote back the certificates in use") {
		t.Error("no log line says the garbage Secret was replaced")
	}
	active(t, pods, "after the Secret was garbled")
	if after := restarts(); after != before {
		t.Errorf("Tandem's containers restarted %d times during the repairs", after-before)
	}
}

func waitSecret(t *testing.T, what string, ok func(map[string][]byte) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		s, err := client.CoreV1().Secrets(helmNS).Get(ctx, certSecret, metav1.GetOptions{})
		return err == nil && ok(s.Data), nil
	})
	if err != nil {
		t.Fatalf("the %s Secret was not written back: %v", what, err)
	}
}

func active(t *testing.T, ns, when string) {
	t.Helper()
	if err := tandemtest.WaitActive(t.Context(), client, ns, "seed"); err != nil {
		t.Fatalf("%s: %v", when, err)
	}
}

// scaledToZero scales Tandem to no replicas and checks which pods the API server still
// admits: everything but pods that need a mandatory sidecar. Then Tandem's own pods
// are created as it scales back up.
func scaledToZero(t *testing.T) {
	kubectl(t, "", "scale", "deployment/"+release, "-n", helmNS, "--replicas=0")
	err := wait.PollUntilContextTimeout(t.Context(), 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Pods(helmNS).List(ctx, metav1.ListOptions{LabelSelector: tandemtest.TandemSelector})
		return err == nil && len(list.Items) == 0, nil
	})
	if err != nil {
		t.Fatalf("Tandem's pods are still there: %v", err)
	}
	plain := tandemtest.Namespace(t, client, nil)
	logsNS := tandemtest.Namespace(t, client, map[string]string{"tandem.io/inject": "logs"})
	seedNS := tandemtest.Namespace(t, client, map[string]string{"tandem.io/inject": "seed"})
	for _, c := range []struct {
		name, ns   string
		annotation string // the pod's tandem.io/inject; "" for none
		denied     string // the entry named by the API server's refusal; "" if admitted
	}{
		{"asks for nothing", plain, "", ""},
		{"in kube-system, asks for a mandatory sidecar", "kube-system", "seed,proxy", ""},
		{"asks for a mandatory sidecar", plain, "proxy", "fail-pod.inject.tandem.io"},
		{"asks for a best-effort sidecar", plain, "logs", ""},
		{"its namespace asks for a best-effort sidecar", logsNS, "", ""},
		{"its namespace asks for a mandatory sidecar", seedNS, "", "fail-namespace.inject.tandem.io"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var annotations map[string]string
			if c.annotation != "" {
				annotations = map[string]string{"tandem.io/inject": c.annotation}
			}
			p := gatedPod("", annotations)
			created, err := client.CoreV1().Pods(c.ns).Create(t.Context(), p, metav1.CreateOptions{})
			if err == nil {
				t.Cleanup(func() {
					_ = client.CoreV1().Pods(c.ns).Delete(context.Background(), created.Name, metav1.DeleteOptions{})
				})
			}
			switch {
			case c.denied == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.denied == "" && (len(created.Spec.Containers) != 1 || created.Annotations["tandem.io/status"] != ""):
				t.Errorf("created with sidecars while Tandem has no replica: %s", tandemtest.DescribePod(created))
			case c.denied != "" && err == nil:
				t.Errorf("created, want refused by %s", c.denied)
			case c.denied != "" && !strings.Contains(err.Error(), `failed calling webhook "`+c.denied+`"`):
				t.Errorf("refused with %q, want the API server's message naming %s", err, c.denied)
			}
		})
	}
	kubectl(t, "", "scale", "deployment/"+release, "-n", helmNS, "--replicas=2")
	waitReplicas(t, helmNS, release, 2)
	active(t, plain, "after scaling back up")
}

// checkAuditLease waits until one of the Tandem pods holds the audit's Lease: the
// election works with the rights the chart grants.
func checkAuditLease(t *testing.T, ns, lease string) {
	t.Helper()
	var holder string
	err := wait.PollUntilContextTimeout(t.Context(), time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := client.CoordinationV1().Leases(ns).Get(ctx, lease, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return false, nil
		}
		holder = *l.Spec.HolderIdentity
		return slices.ContainsFunc(tandemPods(t, ns), func(p corev1.Pod) bool { return strings.HasPrefix(holder, p.Name+"_") }), nil
	})
	if err != nil {
		t.Errorf("the Lease %s/%s is not held by a Tandem pod (holder %q): %v", ns, lease, holder, err)
	}
}
