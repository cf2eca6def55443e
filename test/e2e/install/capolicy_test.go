package install

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/internal/selfcert"
)

// checkCABundleOnly checks, as Tandem's ServiceAccount, that the chart's policy refuses
// an update of its webhook configuration's rules with the policy's message, then that
// Tandem, under the same policy, still writes back a caBundle an administrator blanked.
func checkCABundleOnly(t *testing.T, ns, name, secret string) {
	t.Helper()
	as := "system:serviceaccount:" + ns + ":" + name
	config := rest.CopyConfig(cp.RESTConfig)
	config.Impersonate = rest.ImpersonationConfig{UserName: as}
	sa, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	hooks := client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	want := as + " may change only the caBundle of the entries of the webhook configuration " + name
	var last error
	// The API server loads a new policy asynchronously; a real update, not a dry run:
	// a refusal must leave the configuration as it was, and an acceptance would show.
	err = wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		cfg, err := hooks.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cfg.Webhooks[0].Rules[0].Resources = append(cfg.Webhooks[0].Rules[0].Resources, "secrets")
		_, last = sa.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(ctx, cfg, metav1.UpdateOptions{})
		if last == nil {
			t.Fatalf("%s widened the rules of %s to Secrets", as, name)
		}
		return strings.Contains(last.Error(), want), nil
	})
	if err != nil {
		t.Fatalf("the update of the rules as %s was not refused with %q: %v (last: %v)", as, want, err, last)
	}

	cfg, err := hooks.Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].ClientConfig.CABundle = nil
	}
	if _, err := hooks.Update(t.Context(), cfg, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The Secret is read on each try: certificates may rotate meanwhile.
	err = wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		s, err := client.CoreV1().Secrets(ns).Get(ctx, secret, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		cfg, err := hooks.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		bundle := selfcert.Bundle(s.Data)
		return len(bundle) > 0 && !slices.ContainsFunc(cfg.Webhooks, func(w admissionregistrationv1.MutatingWebhook) bool {
			return !bytes.Equal(w.ClientConfig.CABundle, bundle)
		}), nil
	})
	if err != nil {
		t.Errorf("under the policy, Tandem did not write back the blanked caBundle: %v", err)
	}
	after, err := hooks.Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range after.Webhooks {
		if len(w.Rules) != 1 || len(w.Rules[0].Resources) != 1 || w.Rules[0].Resources[0] != "pods" {
			t.Errorf("entry %s has rules %v, want pods alone", w.Name, w.Rules)
		}
	}
}
