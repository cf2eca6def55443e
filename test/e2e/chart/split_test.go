package chart

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/internal/inject"
)

// The webhook's matchConditions split the pod annotation tandem.io/inject into names in
// CEL, repeating the engine's rule (names separated by commas, dots or spaces; blanks
// and "false" dropped: inject.ParseList). For each of several hundred annotation values,
// the chart's expression, evaluated by the API server, gives the names ParseList gives,
// repeats aside.
func TestChartSplitsTheAnnotationAsTheEngine(t *testing.T) {
	names := chartNamesExpression(t)
	ns := splitPolicy(t, names)
	for _, value := range annotationValues() {
		engine := inject.ParseList(value)
		chart, err := evaluate(t, ns, value)
		if err != nil {
			t.Fatalf("annotation %q: %v", value, err)
		}
		if !slices.Equal(engine, compactRepeats(chart)) {
			t.Errorf("annotation %q: the engine selects %q, the chart's CEL %q", value, engine, chart)
		}
	}
}

// chartNamesExpression is the CEL list of names the default render's pod entry reads
// from the annotation: its condition pod-annotation-names-sidecars is "HAS && NAMES.size() > 0".
func chartNamesExpression(t *testing.T) string {
	t.Helper()
	mwc := only[admissionregistrationv1.MutatingWebhookConfiguration](t, objects(t, render(t)), "MutatingWebhookConfiguration")
	for _, w := range mwc.Webhooks {
		for _, c := range w.MatchConditions {
			if c.Name != "pod-annotation-names-sidecars" {
				continue
			}
			list, ok := strings.CutSuffix(c.Expression, ".size() > 0")
			start := strings.Index(list, "object.metadata.annotations['tandem.io/inject']")
			if !ok || start < 0 {
				t.Fatalf("the condition %s of %s is not HAS && NAMES.size() > 0: %s", c.Name, w.Name, c.Expression)
			}
			return list[start:]
		}
	}
	t.Fatal("no entry of the webhook configuration has the condition pod-annotation-names-sidecars")
	return ""
}

// splitPolicy installs a ValidatingAdmissionPolicy that refuses every pod of a new
// namespace with the message "split=[NAMES joined by |]", and returns the namespace.
func splitPolicy(t *testing.T, names string) string {
	t.Helper()
	ns := createTestNamespace(t)
	name := "split-" + ns
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: new(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
				},
			}}},
			Validations: []admissionregistrationv1.Validation{{
				Expression:        "false",
				MessageExpression: "'split=[' + " + names + ".join('|') + ']'",
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns},
			}},
		},
	}
	api := client.AdmissionregistrationV1()
	if _, err := api.ValidatingAdmissionPolicies().Create(t.Context(), policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = api.ValidatingAdmissionPolicies().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	if _, err := api.ValidatingAdmissionPolicyBindings().Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = api.ValidatingAdmissionPolicyBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	// The API server loads policies asynchronously.
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		_, last = evaluate(t, ns, "a,b")
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("the policy %s never answered: %v", name, last)
	}
	return ns
}

// evaluate has the API server evaluate the policy of splitPolicy on a pod annotated
// value (a dry run), and returns the names of its message.
func evaluate(t *testing.T, ns, value string) ([]string, error) {
	c, err := fastClient()
	if err != nil {
		return nil, err
	}
	_, err = c.CoreV1().Pods(ns).Create(t.Context(), gatedPod(&value, false), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err == nil {
		return nil, fmt.Errorf("the pod was admitted")
	}
	_, list, ok := strings.Cut(err.Error(), "split=[")
	end := strings.LastIndex(list, "]")
	if !ok || end < 0 {
		return nil, fmt.Errorf("no split=[...] in the refusal: %w", err)
	}
	if list = list[:end]; list == "" {
		return nil, nil
	}
	return strings.Split(list, "|"), nil
}

// fastClient is a client not throttled to client-go's default of 5 requests a second,
// for the hundreds of dry runs of the split test.
var fastClient = sync.OnceValues(func() (kubernetes.Interface, error) {
	config := rest.CopyConfig(cp.RESTConfig)
	config.QPS, config.Burst = 200, 200
	return kubernetes.NewForConfig(config)
})

// createTestNamespace creates a namespace removed at the end of the test.
func createTestNamespace(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("split-%d", time.Now().UnixNano()%1000000)
	if err := createNamespace(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	return name
}

// compactRepeats drops the names seen before (the engine does; the chart's conditions
// only ask whether a name is there).
func compactRepeats(names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// annotationValues are values written by hand, at the edges of the rule, then random
// strings of names, separators, near-separators and "false" (the same every run). None
// holds "|", which the message uses, or a line break, which a message cannot hold.
func annotationValues() []string {
	values := []string{
		"", "false", "seed", "seed,proxy", "seed.proxy", "seed proxy", " seed ", ",,seed,,",
		"false,seed", "seed,false", "seed,seed", "seed, proxy", "seed..proxy", ".", ",", " ",
		"FALSE", "False", "falsey", "notfalse", "seed;proxy", "seed\tproxy", "seed\u00a0proxy",
		"seed\u3000proxy", "é,ü", "a/b", "a_b-c", "false false", "false.false", "[seed]",
	}
	pieces := []string{"seed", "proxy", "logs", "false", "a", "é", ",", ".", " ", "\t", "-", "_", ";", "\u00a0", "]", "'", `"`, `\`}
	r := rand.New(rand.NewPCG(15, 11))
	for range 300 {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		values = append(values, b.String())
	}
	return values
}
