package selfcert

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tandem-io/tandem/internal/certs"
)

// failCABundleWrites makes every update of a webhook configuration fail, as when RBAC or
// an admission policy refuses it; the returned function lifts that.
func failCABundleWrites(client *fake.Clientset) (lift func()) {
	failing := true
	client.PrependReactor("update", "mutatingwebhookconfigurations", func(k8stesting.Action) (bool, runtime.Object, error) {
		return failing, nil, errors.New("denied by a test")
	})
	return func() { failing = false }
}

// midRotation is a Secret whose CA nears its expiry, whose serving certificate it signed
// a minute ago, and whose next CA was written into the Secret ten minutes ago, twice the
// propagation time; and a webhook configuration whose caBundle still holds the old CA
// alone, because writing the next one into it has failed since.
func midRotation(t *testing.T) (*corev1.Secret, [][]byte) {
	t.Helper()
	now := time.Now()
	old, err := certs.NewCAAt("tandem-ca", now.Add(-policy.CAValidity+time.Hour), policy.CAValidity)
	if err != nil {
		t.Fatal(err)
	}
	next, err := certs.NewCAAt("tandem-ca", now.Add(-10*time.Minute), policy.CAValidity)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := old.IssueAt(policy.Hosts, now.Add(-time.Minute), policy.ServingValidity)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{
		KeyCA: old.CertPEM, KeyCAKey: old.KeyPEM, KeyCert: pair.CertPEM, KeyKey: pair.KeyPEM,
		KeyNextCA: next.CertPEM, KeyNextCAKey: next.KeyPEM,
		KeyNextSince: []byte(now.Add(-10 * time.Minute).UTC().Format(time.RFC3339Nano)),
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: ns}, Data: data}
	return secret, [][]byte{old.CertPEM, old.CertPEM}
}

// withBundles is the webhook configuration with each entry holding its caBundle.
func withBundles(bundles [][]byte) *admissionregistrationv1.MutatingWebhookConfiguration {
	cfg := webhookConfiguration()
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].ClientConfig.CABundle = bundles[i]
	}
	return cfg
}

// servedVerifies fails the test unless every caBundle the configuration holds verifies
// the certificate in m's serving file.
func servedVerifies(t *testing.T, m *Manager, bundles [][]byte, now time.Time) {
	t.Helper()
	served, err := os.ReadFile(m.o.CertFile)
	if err != nil {
		t.Fatalf("no serving file: %v", err)
	}
	if !everyTrusts(bundles, served, now) {
		t.Error("the replica serves a certificate the caBundle does not verify: every webhook call would fail")
	}
}

// Writing the caBundle fails for longer than the propagation time: the next CA never
// signs, and the old chain keeps serving and verifying.
func TestANextCAThatNeverReachedTheCABundleNeverSigns(t *testing.T) {
	secret, bundles := midRotation(t)
	client := fake.NewClientset(withBundles(bundles), secret)
	failCABundleWrites(client)
	m := replica(t, client, nil)
	for range 3 {
		if _, err := m.Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "denied by a test") {
			t.Fatalf("Sync: %v, want the caBundle's failure", err)
		}
	}
	if data := secretData(t, client); !bytes.Equal(data[KeyCA], secret.Data[KeyCA]) {
		t.Error("the next CA was promoted although no caBundle entry ever held it")
	}
	servedVerifies(t, m, heldBundles(t, client), time.Now())
}

// Once the caBundle can be written, the wait is counted from when every entry is seen
// holding the next CA; an entry that loses it starts the wait again.
func TestTheNextCASignsPropagationAfterEveryEntryHoldsIt(t *testing.T) {
	secret, bundles := midRotation(t)
	client := fake.NewClientset(withBundles(bundles), secret)
	lift := failCABundleWrites(client)
	m := replica(t, client, nil)
	start := time.Now()
	at := func(d time.Duration) { m.now = func() time.Time { return start.Add(d) } }
	_, _ = m.Sync(context.Background())
	lift()
	at(time.Minute)
	sync(t, m) // writes the next CA into the caBundle
	at(2 * time.Minute)
	sync(t, m) // sees it there: the wait starts
	at(2*time.Minute + policy.Propagation - time.Second)
	sync(t, m)
	if data := secretData(t, client); !bytes.Equal(data[KeyCA], secret.Data[KeyCA]) {
		t.Fatal("promoted before every entry had held the next CA for the propagation time")
	}
	cfg := withBundles(bundles) // someone re-applies the configuration with the old caBundle
	cfg.ResourceVersion = ""
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(context.Background(), cfg, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	at(3 * time.Minute)
	sync(t, m) // sees it gone: the wait is reset, and the caBundle repaired
	if _, ok := secretData(t, client)[KeyNextSince]; ok {
		t.Fatal("the wait was not reset when an entry lost the next CA")
	}
	at(3*time.Minute + time.Second)
	sync(t, m) // sees it back
	at(3*time.Minute + time.Second + policy.Propagation)
	sync(t, m)
	data := secretData(t, client)
	if !bytes.Equal(data[KeyCA], secret.Data[KeyNextCA]) || !bytes.Equal(data[KeyPreviousCA], secret.Data[KeyCA]) {
		t.Fatal("the next CA was not promoted after every entry held it for the propagation time")
	}
	servedVerifies(t, m, heldBundles(t, client), m.now())
}

// The serving files come after the caBundle: a replica whose caBundle cannot be written
// serves nothing the API server would reject.
func TestTheServingFilesWaitForTheCABundle(t *testing.T) {
	client := fake.NewClientset(webhookConfiguration())
	lift := failCABundleWrites(client)
	m := replica(t, client, nil)
	if _, err := m.Sync(context.Background()); err == nil {
		t.Fatal("Sync succeeded although the caBundle could not be written")
	}
	if _, err := os.Stat(m.o.CertFile); !os.IsNotExist(err) {
		t.Errorf("a serving file was written before the caBundle trusts it (%v)", err)
	}
	lift()
	sync(t, m)
	servedVerifies(t, m, heldBundles(t, client), time.Now())
}

// A CA planted in the Secret as the previous one never enters the caBundle.
func TestAPlantedPreviousCANeverEntersTheCABundle(t *testing.T) {
	client := fake.NewClientset(webhookConfiguration())
	var log bytes.Buffer
	m := replica(t, client, &log)
	sync(t, m)
	planted, err := certs.NewCA("someone-else", 100*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, err := client.CoreV1().Secrets(ns).Get(context.Background(), secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Data[KeyPreviousCA] = planted.CertPEM
	if _, err := client.CoreV1().Secrets(ns).Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	sync(t, m)
	for _, bundle := range heldBundles(t, client) {
		if holds(bundle, planted.Certificate()) {
			t.Error("the planted CA is in the caBundle")
		}
	}
	if _, ok := secretData(t, client)[KeyPreviousCA]; ok {
		t.Error("the planted CA is still in the Secret")
	}
	if !strings.Contains(log.String(), "Tandem did not rotate it out") {
		t.Errorf("the log does not say why the previous CA was dropped:\n%s", log.String())
	}
}
