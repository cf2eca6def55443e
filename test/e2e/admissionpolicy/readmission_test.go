package admissionpolicy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// A pod either path injected, created again (as kubectl apply of an exported pod would),
// is left as it is by both paths: the status annotation tells each that the pod went
// through Tandem, whichever path admitted it.
func TestReadmissionIsANoOpOnBothPaths(t *testing.T) {
	inputs := []string{"seed.yaml", "override.yaml", "namespace-default.yaml", "clash-soft.yaml", "escaped-keys.yaml", "existing-init.yaml"}
	for _, name := range inputs {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(filepath.Dir(goldenConfig), name))
			if err != nil {
				t.Fatal(err)
			}
			first := map[string]string{"webhook": namespaceFor(t, data, "webhook"), "policy": namespaceFor(t, data, "policy")}
			again := map[string]string{"webhook": namespaceFor(t, data, "webhook"), "policy": namespaceFor(t, data, "policy")}
			pod := podsOf(t, data)[0]
			for from, ns := range first {
				p, err := client.CoreV1().Pods(ns).Create(t.Context(), pod.DeepCopy(), metav1.CreateOptions{})
				if err != nil {
					t.Fatalf("through the %s: %v", from, err)
				}
				if p.Annotations["tandem.io/status"] == "" {
					t.Fatalf("the %s did not inject the pod", from)
				}
				exported := export(p)
				want := normalized(t, p, ns)
				for to, ns2 := range again {
					q, err := client.CoreV1().Pods(ns2).Create(t.Context(), exported.DeepCopy(), metav1.CreateOptions{})
					if err != nil {
						t.Fatalf("a pod injected by the %s, created again through the %s: %v", from, to, err)
					}
					if diff := cmp.Diff(want, normalized(t, q, ns2, ns)); diff != "" {
						t.Errorf("a pod injected by the %s changed when created again through the %s (-first +again):\n%s", from, to, diff)
					}
				}
			}
		})
	}
}

// export is the pod as one would create it again: without what the server set.
func export(p *corev1.Pod) *corev1.Pod {
	q := p.DeepCopy()
	q.Name, q.Namespace, q.GenerateName = "", "", p.Name+"-again-"
	q.UID, q.ResourceVersion, q.CreationTimestamp, q.ManagedFields, q.Generation = "", "", metav1.Time{}, nil, 0
	q.Status = corev1.PodStatus{}
	return q
}

// Another mutating policy that changes every pod after Tandem's makes the API server
// reinvoke Tandem's (reinvocationPolicy IfNeeded), which must add nothing the second time.
func TestReinvocationInjectsOnce(t *testing.T) {
	touch := &admissionv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "zz-touch"},
		Spec: admissionv1.MutatingAdmissionPolicySpec{
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}}}},
			FailurePolicy:      ptr.To(admissionv1.Fail),
			ReinvocationPolicy: admissionv1.IfNeededReinvocationPolicy,
			Mutations: []admissionv1.Mutation{{PatchType: admissionv1.PatchTypeApplyConfiguration, ApplyConfiguration: &admissionv1.ApplyConfiguration{
				Expression: `Object{metadata: Object.metadata{labels: {"touched": "yes"}}}`,
			}}},
		},
	}
	if _, err := client.AdmissionregistrationV1().MutatingAdmissionPolicies().Create(t.Context(), touch, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &admissionv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "zz-touch"},
		Spec: admissionv1.MutatingAdmissionPolicyBindingSpec{PolicyName: "zz-touch", MatchResources: &admissionv1.MatchResources{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"e2e.tandem.io/touch": "yes"}},
		}},
	}
	if _, err := client.AdmissionregistrationV1().MutatingAdmissionPolicyBindings().Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deletePolicies(t, "zz-touch")
	})
	ns := namespaceFor(t, []byte("# tandem-test: namespace-labels=e2e.tandem.io/touch=yes"), "policy")
	var p *corev1.Pod
	waitUntil(t, "both policies apply to the namespace", func() bool {
		var err error
		p, err = client.CoreV1().Pods(ns).Create(t.Context(), probe("seed,proxy"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err == nil && p.Labels["touched"] == "yes" && p.Labels["foo"] == "bar"
	})
	names := map[string]int{}
	for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
		names[c.Name]++
	}
	for _, name := range []string{"proxy", "proxy-init", "app"} {
		if names[name] != 1 {
			t.Errorf("container %s appears %d times; want once (containers: %v)", name, names[name], names)
		}
	}
	var st struct{ Sidecars []struct{ Name string } }
	if err := json.Unmarshal([]byte(p.Annotations["tandem.io/status"]), &st); err != nil || len(st.Sidecars) != 2 {
		t.Errorf("status annotation %q: want seed and proxy once (%v)", p.Annotations["tandem.io/status"], err)
	}
}
