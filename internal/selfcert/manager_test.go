package selfcert

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

const ns, secretName, hookName = "tandem-system", "tandem-certs", "tandem"

// webhookConfiguration has two entries, one per failure policy, both without a caBundle.
func webhookConfiguration() *admissionregistrationv1.MutatingWebhookConfiguration {
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: hookName},
		Webhooks:   []admissionregistrationv1.MutatingWebhook{{Name: "fail.inject.tandem.io"}, {Name: "ignore.inject.tandem.io"}},
	}
}

// replica is one Tandem replica's manager, writing its files into a directory of its own.
func replica(t *testing.T, client kubernetes.Interface, log *bytes.Buffer) *Manager {
	t.Helper()
	dir := t.TempDir()
	if log == nil {
		log = &bytes.Buffer{}
	}
	m, err := New(Options{
		Client: client, Namespace: ns, Secret: secretName, WebhookConfiguration: hookName, Policy: policy,
		CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"),
		Log: slog.New(slog.NewTextHandler(log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sync(t *testing.T, m *Manager) {
	t.Helper()
	if _, err := m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func secretData(t *testing.T, client kubernetes.Interface) map[string][]byte {
	t.Helper()
	s, err := client.CoreV1().Secrets(ns).Get(context.Background(), secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Data
}

func heldBundles(t *testing.T, client kubernetes.Interface) [][]byte {
	t.Helper()
	cfg, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(context.Background(), hookName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var bundles [][]byte
	for _, w := range cfg.Webhooks {
		bundles = append(bundles, w.ClientConfig.CABundle)
	}
	return bundles
}

func TestAFirstSyncCreatesTheSecretWritesTheFilesAndEveryCABundle(t *testing.T) {
	client := fake.NewClientset(webhookConfiguration())
	m := replica(t, client, nil)
	next, err := m.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	data := secretData(t, client)
	for _, bundle := range heldBundles(t, client) {
		if !bytes.Equal(bundle, Bundle(data)) {
			t.Errorf("caBundle %q, want the Secret's CA", bundle)
		}
	}
	if _, err := tls.LoadX509KeyPair(m.o.CertFile, m.o.KeyFile); err != nil {
		t.Errorf("the serving files do not load: %v", err)
	}
	if onDisk, _ := os.ReadFile(m.o.CertFile); !bytes.Equal(onDisk, data[KeyCert]) {
		t.Error("the serving file is not the Secret's certificate")
	}
	if wantNext := time.Now().Add(policy.ServingValidity - policy.ServingRenewBefore); next.Sub(wantNext).Abs() > time.Minute {
		t.Errorf("next sync at %s, want the serving certificate's renewal, about %s", next, wantNext)
	}
	if m.CAExpiry().IsZero() {
		t.Error("CAExpiry is unknown after a sync")
	}
}

// Replicas converge on the Secret: the second finds the first's certificates and uses them.
func TestASecondReplicaServesTheSameCertificates(t *testing.T) {
	client := fake.NewClientset(webhookConfiguration())
	first, second := replica(t, client, nil), replica(t, client, nil)
	sync(t, first)
	created := secretData(t, client)
	sync(t, second)
	if !bytes.Equal(secretData(t, client)[KeyCA], created[KeyCA]) {
		t.Fatal("the second replica replaced the first one's CA")
	}
	a, _ := os.ReadFile(first.o.CertFile)
	b, _ := os.ReadFile(second.o.CertFile)
	if !bytes.Equal(a, b) {
		t.Error("the replicas serve different certificates")
	}
}

func TestWhatSomeoneElseBrokeIsRepaired(t *testing.T) {
	for name, breakIt := range map[string]func(context.Context, kubernetes.Interface) error{
		"a blanked caBundle": func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(ctx, webhookConfiguration(), metav1.UpdateOptions{})
			return err
		},
		"a deleted Secret": func(ctx context.Context, c kubernetes.Interface) error {
			return c.CoreV1().Secrets(ns).Delete(ctx, secretName, metav1.DeleteOptions{})
		},
		"a garbage Secret": func(ctx context.Context, c kubernetes.Interface) error {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: ns}, Data: map[string][]byte{KeyCA: []byte("garbage")}}
			_, err := c.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			client := fake.NewClientset(webhookConfiguration())
			var log bytes.Buffer
			m := replica(t, client, &log)
			sync(t, m)
			before := secretData(t, client)
			if err := breakIt(context.Background(), client); err != nil {
				t.Fatal(err)
			}
			sync(t, m)
			data := secretData(t, client)
			if _, err := tls.X509KeyPair(data[KeyCert], data[KeyKey]); err != nil {
				t.Errorf("the Secret holds no usable pair after the repair: %v", err)
			}
			for _, bundle := range heldBundles(t, client) {
				if !bytes.Equal(bundle, Bundle(data)) {
					t.Errorf("caBundle not repaired: %q", bundle)
				}
			}
			if onDisk, _ := os.ReadFile(m.o.CertFile); !bytes.Equal(onDisk, data[KeyCert]) {
				t.Error("the serving file does not follow the Secret")
			}
			if !bytes.Equal(data[KeyCA], before[KeyCA]) || !bytes.Equal(data[KeyCert], before[KeyCert]) {
				t.Error("the repair changed the certificates in use: the API server would stop trusting the replicas")
			}
			if strings.Count(log.String(), "msg=") < 2 {
				t.Errorf("the repair was not logged:\n%s", log.String())
			}
		})
	}
}

// A replica that starts with a garbage Secret has nothing better: it writes new
// certificates, and says why.
func TestAGarbageSecretIsReplacedWithALogLine(t *testing.T) {
	garbage := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: ns}, Data: map[string][]byte{KeyCA: []byte("garbage")}}
	client := fake.NewClientset(webhookConfiguration(), garbage)
	var log bytes.Buffer
	sync(t, replica(t, client, &log))
	if _, err := tls.X509KeyPair(secretData(t, client)[KeyCert], secretData(t, client)[KeyKey]); err != nil {
		t.Errorf("the garbage was not replaced: %v", err)
	}
	if !strings.Contains(log.String(), "new CA: no usable CA in the Secret") {
		t.Errorf("the log does not say why the Secret was replaced:\n%s", log.String())
	}
}

func TestAMissingWebhookConfigurationIsNamed(t *testing.T) {
	m := replica(t, fake.NewClientset(), nil)
	_, err := m.Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "MutatingWebhookConfiguration tandem") || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("got %v, want an error naming the missing configuration", err)
	}
}

func TestNewRefusesIncompleteOptions(t *testing.T) {
	_, err := New(Options{Policy: Policy{}})
	for _, want := range []string{"need a cluster", "the files to write", "at least one host"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New: %v; want it to say %q", err, want)
		}
	}
}
