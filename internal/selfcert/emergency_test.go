package selfcert

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// An emergency rotation discards the CA and its key everywhere: in the Secret, in the
// caBundle and in every replica's serving files and memory, at once, without the overlap
// of a planned rotation.
func TestAnEmergencyRotationDiscardsTheCAEverywhere(t *testing.T) {
	client := fake.NewClientset(webhookConfiguration())
	var log bytes.Buffer
	first, second := replica(t, client, &log), replica(t, client, nil)
	sync(t, first)
	sync(t, second)
	before := secretData(t, client)
	ctx := context.Background()

	request, old, err := RequestRotation(ctx, client, ns, secretName, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, before[KeyCA]) {
		t.Error("RequestRotation does not report the CA it discards")
	}
	sync(t, first)
	sync(t, second)
	after := secretData(t, client)
	if bytes.Equal(after[KeyCA], before[KeyCA]) || bytes.Equal(after[KeyCAKey], before[KeyCAKey]) || bytes.Equal(after[KeyKey], before[KeyKey]) {
		t.Fatal("the CA, its key or the serving key survived the emergency rotation")
	}
	for _, key := range []string{KeyPreviousCA, KeyNextCA, KeyNextCAKey, KeyNextSince} {
		if _, ok := after[key]; ok {
			t.Errorf("the Secret still holds %s", key)
		}
	}
	oldCA, _ := parseCert(before[KeyCA])
	for _, bundle := range heldBundles(t, client) {
		if holds(bundle, oldCA) {
			t.Error("the caBundle still trusts the discarded CA")
		}
	}
	onlyOld := x509.NewCertPool()
	onlyOld.AddCert(oldCA)
	for i, m := range []*Manager{first, second} {
		served, _ := os.ReadFile(m.o.CertFile)
		leaf, err := parseCert(served)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: onlyOld}); err == nil {
			t.Errorf("replica %d still serves a certificate the discarded CA verifies", i)
		}
		servedVerifies(t, m, heldBundles(t, client), time.Now())
	}
	if !strings.Contains(log.String(), "emergency rotation "+request) {
		t.Errorf("the rotation was not logged:\n%s", log.String())
	}

	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if got, err := WaitRotated(short, client, ns, secretName, hookName, request, old, time.Millisecond); err != nil || !bytes.Equal(got, after[KeyCA]) {
		t.Errorf("WaitRotated: %v; want the new CA", err)
	}

	// The request is carried out once; and a Secret deleted afterwards is written back
	// from the replicas' memory with the new CA, never the discarded one.
	sync(t, first)
	if err := client.CoreV1().Secrets(ns).Delete(ctx, secretName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	sync(t, second)
	if again := secretData(t, client); !bytes.Equal(again[KeyCA], after[KeyCA]) {
		t.Error("the CA changed again after the rotation: the request was carried out twice, or memory held the old CA")
	}
}

func TestARotationOfAMissingSecretIsRefusedByName(t *testing.T) {
	_, _, err := RequestRotation(context.Background(), fake.NewClientset(), ns, secretName, time.Now())
	if err == nil || !strings.Contains(err.Error(), "the Secret tandem-system/tandem-certs not found") {
		t.Fatalf("got %v, want the missing Secret named", err)
	}
}

// WaitRotated says what it is still waiting for when no replica takes the request.
func TestWaitRotatedSaysWhatItWaitsFor(t *testing.T) {
	client := fake.NewClientset(webhookConfiguration())
	sync(t, replica(t, client, nil))
	request, old, err := RequestRotation(context.Background(), client, ns, secretName, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := WaitRotated(ctx, client, ns, secretName, hookName, request, old, time.Millisecond); err == nil || !strings.Contains(err.Error(), "no replica has taken the request") {
		t.Fatalf("got %v, want it to say no replica took the request", err)
	}
}

// A wrong --webhook-configuration is named, not waited on in silence.
func TestWaitRotatedNamesAnUnreadableWebhookConfiguration(t *testing.T) {
	client := fake.NewClientset(webhookConfiguration())
	m := replica(t, client, nil)
	sync(t, m)
	request, old, err := RequestRotation(context.Background(), client, ns, secretName, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sync(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = WaitRotated(ctx, client, ns, secretName, "other", request, old, time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), `"other" not found`) {
		t.Fatalf("got %v, want the missing configuration named", err)
	}
}
