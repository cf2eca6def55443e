package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/selfcert"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// Certificate lifetimes short enough to see rotations within the test: the serving
// certificate is renewed every 15 s, the CA after 30 s (trusted 3 s before it signs).
var shortLived = []string{
	"--ca-validity", "60s", "--ca-renew-before", "30s", "--ca-propagation", "3s",
	"--serving-validity", "30s", "--serving-renew-before", "15s", "--certificate-resync", "5s",
}

// loadFor is how long pods are created while certificates rotate.
const loadFor = 45 * time.Second

// Two replicas of `tandem serve --certificates self`, started together with no Secret,
// converge on one CA and write it into the caBundle; pods created continuously across
// serving-certificate and CA rotations are all admitted and injected; a blanked caBundle
// and a deleted Secret are repaired.
func TestSelfManagedCertificates(t *testing.T) {
	secrets := namespace(t, nil)
	pods := namespace(t, map[string]string{webhookLabel: "self", "tandem.io/inject": "seed"})
	hook := tandemtest.Webhook{Name: "tandem-self", URL: "https://127.0.0.1:1/mutate", Namespaces: routedTo("self")}
	register(t, hook)
	args := append([]string{"--certificate-secret", secrets + "/tandem-certs", "--webhook-configuration", hook.Name,
		"--certificate-hosts", "127.0.0.1"}, shortLived...)
	replicas := startReplicas(t, args, 2)
	pointWebhookAt(t, hook.Name, replicas[0].URL)
	if err := tandemtest.WaitActive(t.Context(), client, pods, "seed"); err != nil {
		t.Fatal(err)
	}

	t.Run("the replicas converge on the Secret's certificate", func(t *testing.T) {
		want := secretData(t, secrets)[selfcert.KeyCert]
		for i, r := range replicas {
			if err := waitFor(t, 20*time.Second, func() bool { return bytes.Equal(served(t, r), want) }); err != nil {
				t.Errorf("replica %d does not serve the Secret's certificate: %v", i, err)
			}
		}
	})
	t.Run("pods are injected across rotations", func(t *testing.T) {
		seen := watchSecret(t, secrets)
		created, failed, uninjected := createPods(t, pods, loadFor)
		servingCerts, cas := seen()
		t.Logf("%d pods created, %d failed, %d not injected; %d serving certificates and %d CAs seen",
			created, len(failed), uninjected, servingCerts, cas)
		if len(failed) > 0 || uninjected > 0 {
			t.Errorf("%d creations failed, %d pods were not injected; first failures: %v", len(failed), uninjected, failed[:min(len(failed), 3)])
		}
		if servingCerts < 3 || cas < 2 {
			t.Errorf("saw %d serving certificates and %d CAs: the test did not cover two serving and one CA rotation", servingCerts, cas)
		}
		if got := metric(t, replicas[0], `tandem_certificate_expiry_timestamp_seconds{kind="ca"}`); got == 0 {
			t.Error("no CA expiry metric")
		}
	})
	t.Run("a blanked caBundle is written back", func(t *testing.T) {
		cfg := webhookConfiguration(t, hook.Name)
		for i := range cfg.Webhooks {
			cfg.Webhooks[i].ClientConfig.CABundle = nil
		}
		if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(t.Context(), cfg, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := waitFor(t, 20*time.Second, func() bool {
			return bytes.Equal(webhookConfiguration(t, hook.Name).Webhooks[0].ClientConfig.CABundle, selfcert.Bundle(secretData(t, secrets)))
		}); err != nil {
			t.Fatalf("the caBundle stayed blank: %v", err)
		}
		if err := tandemtest.WaitActive(t.Context(), client, pods, "seed"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a deleted Secret is written back with the certificates in use", func(t *testing.T) {
		before := secretData(t, secrets)
		if err := client.CoreV1().Secrets(secrets).Delete(t.Context(), "tandem-certs", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		var after map[string][]byte
		if err := waitFor(t, 20*time.Second, func() bool {
			s, err := client.CoreV1().Secrets(secrets).Get(t.Context(), "tandem-certs", metav1.GetOptions{})
			after = s.Data
			return err == nil
		}); err != nil {
			t.Fatalf("the Secret was not recreated: %v", err)
		}
		if !bytes.Equal(after[selfcert.KeyCA], before[selfcert.KeyCA]) {
			t.Error("the recreated Secret holds another CA")
		}
		if err := tandemtest.WaitActive(t.Context(), client, pods, "seed"); err != nil {
			t.Fatal(err)
		}
	})
}

// startReplicas starts n self-managing servers at once, as a Deployment's replicas start.
func startReplicas(t *testing.T, args []string, n int) []*tandemtest.Server {
	t.Helper()
	servers, errs := make([]*tandemtest.Server, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			dir := filepath.Join(work, fmt.Sprintf("self-%d", i))
			if errs[i] = os.MkdirAll(dir, 0o755); errs[i] == nil {
				servers[i], errs[i] = tandemtest.StartServer(t.Context(), tandemtest.Options{
					Binary: bin, Dir: dir, ConfigFile: config, Kubeconfig: cp.KubeconfigPath, SelfManaged: args})
			}
		})
	}
	wg.Wait()
	for i, s := range servers {
		if s != nil {
			t.Cleanup(func() { _ = s.Stop() })
		}
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
	}
	return servers
}

// pointWebhookAt changes only the URL of every entry, as an install would name the Service.
func pointWebhookAt(t *testing.T, name, url string) {
	t.Helper()
	cfg := webhookConfiguration(t, name)
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].ClientConfig.URL = &url
	}
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(t.Context(), cfg, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// createPods creates a pod every 100 ms for d and counts what came of it.
func createPods(t *testing.T, ns string, d time.Duration) (created int, failed []string, uninjected int) {
	t.Helper()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); <-ticker.C {
		p, err := client.CoreV1().Pods(ns).Create(t.Context(), pod("load-"+strconv.Itoa(created+len(failed)), nil, nil), metav1.CreateOptions{})
		switch {
		case err != nil:
			failed = append(failed, err.Error())
		case p.Labels["foo"] != "bar":
			uninjected++
			created++
		default:
			created++
		}
	}
	return created, failed, uninjected
}

// watchSecret polls the Secret until the returned function is called, which tells how
// many different serving certificates and CAs it held.
func watchSecret(t *testing.T, ns string) func() (int, int) {
	ctx, cancel := context.WithCancel(t.Context())
	serving, cas := map[string]bool{}, map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if s, err := client.CoreV1().Secrets(ns).Get(ctx, "tandem-certs", metav1.GetOptions{}); err == nil {
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

func secretData(t *testing.T, ns string) map[string][]byte {
	t.Helper()
	s, err := client.CoreV1().Secrets(ns).Get(t.Context(), "tandem-certs", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return s.Data
}

// served is the certificate a server presents now, PEM-encoded like the Secret's.
func served(t *testing.T, s *tandemtest.Server) []byte {
	t.Helper()
	conn, err := tls.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(s.URL, "https://"), "/mutate"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return nil
	}
	defer conn.Close()
	return pemCert(conn.ConnectionState().PeerCertificates[0].Raw)
}

func metric(t *testing.T, s *tandemtest.Server, sample string) float64 {
	t.Helper()
	resp, err := http.Get(s.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(out)) {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	t.Fatalf("%s has no sample %s", s.Metrics, sample)
	return 0
}

func webhookConfiguration(t *testing.T, name string) *admissionregistrationv1.MutatingWebhookConfiguration {
	t.Helper()
	cfg, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// tandem certificates rotate --emergency makes every replica drop the old CA at once: a
// TLS client that trusts only the old CA is refused by each of them, the caBundle trusts
// only the new CA, and the API server still admits pods through the webhook, whichever
// replica it calls. Pods created throughout say how long calls failed (logged, not
// asserted: it depends on the machine).
func TestEmergencyRotation(t *testing.T) {
	secrets := namespace(t, nil)
	pods := namespace(t, map[string]string{webhookLabel: "emergency", "tandem.io/inject": "seed"})
	hook := tandemtest.Webhook{Name: "tandem-emergency", URL: "https://127.0.0.1:1/mutate", Namespaces: routedTo("emergency")}
	register(t, hook)
	replicas := startReplicas(t, []string{"--certificate-secret", secrets + "/tandem-certs", "--webhook-configuration", hook.Name,
		"--certificate-hosts", "127.0.0.1", "--certificate-resync", "5s"}, 2)
	pointWebhookAt(t, hook.Name, replicas[0].URL)
	if err := tandemtest.WaitActive(t.Context(), client, pods, "seed"); err != nil {
		t.Fatal(err)
	}
	old := secretData(t, secrets)

	began, stopLoad := time.Now(), createPodsTimed(t, pods)
	rotate := exec.CommandContext(t.Context(), bin, "certificates", "rotate", "--emergency", "--certificate-secret", secrets+"/tandem-certs",
		"--webhook-configuration", hook.Name, "--kubeconfig", cp.KubeconfigPath, "--timeout", "60s")
	out, err := rotate.CombinedOutput()
	if err != nil {
		t.Fatalf("tandem certificates rotate: %v\n%s", err, out)
	}
	t.Logf("tandem certificates rotate:\n%s", out)
	current := secretData(t, secrets)
	if bytes.Equal(current[selfcert.KeyCA], old[selfcert.KeyCA]) || len(current[selfcert.KeyPreviousCA]) > 0 {
		t.Fatal("the Secret still holds the old CA")
	}
	for i, r := range replicas {
		if err := waitFor(t, 20*time.Second, func() bool { return bytes.Equal(served(t, r), current[selfcert.KeyCert]) }); err != nil {
			t.Fatalf("replica %d does not serve the new certificate: %v", i, err)
		}
		if err := dialTrusting(r, old[selfcert.KeyCA]); err == nil || !strings.Contains(err.Error(), "unknown authority") {
			t.Errorf("replica %d: a client trusting only the old CA got %v, want unknown authority", i, err)
		}
		if err := dialTrusting(r, webhookConfiguration(t, hook.Name).Webhooks[0].ClientConfig.CABundle); err != nil {
			t.Errorf("replica %d: the caBundle does not verify it: %v", i, err)
		}
	}
	time.Sleep(time.Second) // for the load to see calls succeed again
	created, failed, window := stopLoad()
	t.Logf("during the emergency rotation %d pods were created and %d refused, the refusals over %s; one creation every %s",
		created, failed, window, time.Since(began)/time.Duration(max(created+failed, 1)))
	for i, r := range replicas {
		pointWebhookAt(t, hook.Name, r.URL)
		if err := tandemtest.WaitActive(t.Context(), client, pods, "seed"); err != nil {
			t.Errorf("through replica %d after the rotation: %v", i, err)
		}
	}
}

// dialTrusting opens a TLS connection to s trusting only the CAs in caPEM.
func dialTrusting(s *tandemtest.Server, caPEM []byte) error {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return errors.New("no CA to trust")
	}
	host := strings.TrimSuffix(strings.TrimPrefix(s.URL, "https://"), "/mutate")
	conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		return err
	}
	return conn.Close()
}

// createPodsTimed creates a pod every 20 ms until the returned function is called, which
// tells how many were created and refused, and how long from the first refusal to the last.
func createPodsTimed(t *testing.T, ns string) func() (created, failed int, refusing time.Duration) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	var first, last time.Time
	var created, failed int
	go func() {
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			_, err := client.CoreV1().Pods(ns).Create(ctx, pod("emergency-"+strconv.Itoa(i), nil, nil), metav1.CreateOptions{})
			switch {
			case ctx.Err() != nil:
			case err != nil:
				if first.IsZero() {
					first = time.Now()
				}
				last = time.Now()
				failed++
			default:
				created++
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() (int, int, time.Duration) {
		cancel()
		<-done
		return created, failed, last.Sub(first)
	}
}
