package tandemtest

import (
	"context"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Webhook describes one MutatingWebhookConfiguration pointing at a Tandem server.
type Webhook struct {
	Name          string
	URL           string
	CABundle      []byte
	FailurePolicy admissionregistrationv1.FailurePolicyType // default Fail
	// Namespaces limits the webhook to namespaces with these labels; nil means all but
	// kube-system, which a cluster-wide injector must never be able to block.
	Namespaces *metav1.LabelSelector
	// Reinvocation is IfNeeded by default: Tandem's status annotation makes it safe.
	Reinvocation admissionregistrationv1.ReinvocationPolicyType
}

// Configuration returns the MutatingWebhookConfiguration, as a platform team would
// write it: pods on CREATE only, the opt-out label excluded by objectSelector so that
// those pods never reach Tandem, no side effects, both AdmissionReview versions.
func (w Webhook) Configuration() *admissionregistrationv1.MutatingWebhookConfiguration {
	policy := w.FailurePolicy
	if policy == "" {
		policy = admissionregistrationv1.Fail
	}
	reinvocation := w.Reinvocation
	if reinvocation == "" {
		reinvocation = admissionregistrationv1.IfNeededReinvocationPolicy
	}
	namespaces := w.Namespaces
	if namespaces == nil {
		namespaces = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system"},
		}}}
	}
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "inject.tandem.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &w.URL, CABundle: w.CABundle},
			AdmissionReviewVersions: []string{"v1", "v1beta1"},
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			FailurePolicy:           &policy,
			ReinvocationPolicy:      &reinvocation,
			TimeoutSeconds:          ptr.To[int32](10),
			NamespaceSelector:       namespaces,
			ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "tandem.io/inject", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"false"},
			}}},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{
					APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"},
					Scope: ptr.To(admissionregistrationv1.NamespacedScope),
				},
			}},
		}},
	}
}

// Register creates or replaces the webhook's configuration in the cluster.
func (w Webhook) Register(ctx context.Context, client kubernetes.Interface) error {
	api := client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	cfg := w.Configuration()
	existing, err := api.Get(ctx, w.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, cfg, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	cfg.ResourceVersion = existing.ResourceVersion
	_, err = api.Update(ctx, cfg, metav1.UpdateOptions{})
	return err
}

// Unregister deletes the configuration; a missing one is not an error.
func Unregister(ctx context.Context, client kubernetes.Interface, name string) error {
	err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
