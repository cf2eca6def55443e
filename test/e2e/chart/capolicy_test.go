package chart

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// serviceAccount is the user Tandem runs as in the default render; caBundlePolicy is
// the name of the policy (and binding) that narrows its rights.
const (
	serviceAccount = "system:serviceaccount:" + installNS + ":tandem"
	caBundlePolicy = "tandem-cabundle-only"
)

// The ServiceAccount's right to update its webhook configuration is narrowed, by the
// chart's ValidatingAdmissionPolicy, to the caBundle of each entry: any other change
// it makes is refused with the policy's message, while its caBundle updates, and any
// change by another user (helm upgrade), go through. Every update is a dry run.
func TestServiceAccountChangesOnlyTheCABundle(t *testing.T) {
	objs := objects(t, render(t))
	var apply []byte
	for _, o := range objs {
		switch o.Kind {
		case "MutatingWebhookConfiguration", "ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
			apply = append(append(apply, "---\n"...), o.raw...)
		}
	}
	file := writeTemp(t, "protected.yaml", apply)
	if _, err := cp.Kubectl(t.Context(), "apply", "-f", file); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := cp.Kubectl(context.Background(), "delete", "-f", file); err != nil {
			t.Errorf("removing the webhook configuration and its policy: %v", err)
		}
	})
	mwc := only[admissionregistrationv1.MutatingWebhookConfiguration](t, objs, "MutatingWebhookConfiguration")
	const message = serviceAccount + " may change only the caBundle of the entries of the webhook configuration tandem"
	as := impersonate(t, serviceAccount)
	update := func(c kubernetes.Interface, change func(*admissionregistrationv1.MutatingWebhookConfiguration)) error {
		cfg, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(t.Context(), mwc.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		change(cfg)
		_, err = c.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(t.Context(), cfg, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}
	widen := func(cfg *admissionregistrationv1.MutatingWebhookConfiguration) {
		cfg.Webhooks[0].Rules[0].Resources = append(cfg.Webhooks[0].Rules[0].Resources, "secrets")
	}
	// The API server loads policies asynchronously.
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		last = update(as, widen)
		return last != nil && strings.Contains(last.Error(), "ValidatingAdmissionPolicy"), nil
	})
	if err != nil {
		t.Fatalf("the policy never refused the ServiceAccount's update of the rules: last update returned %v", last)
	}
	t.Logf("the refusal: %v", last)

	bundle := []byte("-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n")
	cases := []struct {
		name    string
		change  func(*admissionregistrationv1.MutatingWebhookConfiguration)
		refused string // a part of the refusal; "" if allowed
	}{
		{"its rules widened to Secrets", widen, message},
		{"its rules' operations widened", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[1].Rules[0].Operations = append(c.Webhooks[1].Rules[0].Operations, admissionregistrationv1.Update)
		}, message},
		{"the calls sent to another Service", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.Service.Name = "elsewhere"
		}, message},
		{"the calls sent to a URL", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.Service, c.Webhooks[0].ClientConfig.URL = nil, new("https://attacker.example/mutate")
		}, message},
		{"a failure policy relaxed", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].FailurePolicy = new(admissionregistrationv1.Ignore)
		}, message},
		{"the excluded namespaces changed", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].NamespaceSelector = &metav1.LabelSelector{}
		}, message},
		{"a match condition dropped", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].MatchConditions = c.Webhooks[0].MatchConditions[1:]
		}, message},
		{"the timeout changed", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].TimeoutSeconds = new(int32(30))
		}, message},
		{"an entry removed", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks = c.Webhooks[1:]
		}, "not add, remove, rename or reorder entries"},
		{"an entry renamed", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].Name = "renamed.inject.tandem.io"
		}, message},
		{"the entries reordered", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0], c.Webhooks[1] = c.Webhooks[1], c.Webhooks[0]
		}, "not add, remove, rename or reorder entries"},
		{"a label added", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Labels["example.com/x"] = "y"
		}, "may not change the labels or annotations"},
		{"every caBundle set", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			for i := range c.Webhooks {
				c.Webhooks[i].ClientConfig.CABundle = bundle
			}
		}, ""},
		{"one caBundle set", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[1].ClientConfig.CABundle = bundle
		}, ""},
		{"nothing changed", func(*admissionregistrationv1.MutatingWebhookConfiguration) {}, ""},
	}
	for _, c := range cases {
		t.Run("by the ServiceAccount: "+c.name, func(t *testing.T) {
			err := update(as, c.change)
			switch {
			case c.refused == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.refused != "" && err == nil:
				t.Errorf("allowed; want refused with %q", c.refused)
			case c.refused != "" && !strings.Contains(err.Error(), c.refused):
				t.Errorf("refused with %q; want %q", err, c.refused)
			}
		})
	}
	t.Run("by another user: the rules widened", func(t *testing.T) {
		if err := update(client, widen); err != nil {
			t.Errorf("an administrator's update is refused: %v", err)
		}
	})
}

// The policy compares every field of an entry but its caBundle: a field the API has
// and the policy does not name could be changed by the ServiceAccount unnoticed. A
// Kubernetes upgrade that adds one fails here.
func TestCABundlePolicyComparesEveryField(t *testing.T) {
	vap := only[admissionregistrationv1.ValidatingAdmissionPolicy](t, objects(t, render(t)), "ValidatingAdmissionPolicy")
	var expressions string
	for _, v := range vap.Spec.Validations {
		expressions += v.Expression + "\n"
	}
	for _, f := range jsonFields(reflect.TypeFor[admissionregistrationv1.MutatingWebhook]()) {
		want := "o.?" + f + " == w.?" + f
		switch f {
		case "name":
			want = "o.name == w.name"
		case "clientConfig":
			for _, cf := range jsonFields(reflect.TypeFor[admissionregistrationv1.WebhookClientConfig]()) {
				if cf == "caBundle" {
					continue
				}
				if w := "o.?clientConfig.?" + cf + " == w.?clientConfig.?" + cf; !strings.Contains(expressions, w) {
					t.Errorf("the policy %s does not compare clientConfig.%s (%s)", vap.Name, cf, w)
				}
			}
			continue
		}
		if !strings.Contains(expressions, want) {
			t.Errorf("the policy %s does not compare %s (%s)", vap.Name, f, want)
		}
	}
}

// jsonFields are the JSON names of a struct's fields.
func jsonFields(typ reflect.Type) []string {
	var names []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// impersonate is a client that acts as user.
func impersonate(t *testing.T, user string) kubernetes.Interface {
	t.Helper()
	config := rest.CopyConfig(cp.RESTConfig)
	config.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
