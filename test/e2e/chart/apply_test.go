package chart

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The API server accepts every object of every render, the CEL of the webhook's
// matchConditions included, which it compiles when the configuration is written.
// Issuer, Certificate and ServiceMonitor go to the stand-in CRDs of testdata/crds.yaml:
// they are checked as well-formed Kubernetes objects, not as cert-manager and
// prometheus-operator would check them.
func TestServerDryRun(t *testing.T) {
	for _, v := range valueSets(t) {
		t.Run(v.name, func(t *testing.T) {
			rendered := render(t, v.args()...)
			out, err := cp.Kubectl(t.Context(), "apply", "--dry-run=server", "-f", writeTemp(t, v.name+".yaml", rendered))
			if err != nil {
				t.Fatal(err)
			}
			// kubectl reports each object it sent; one missing was skipped silently.
			objs := objects(t, rendered)
			if n := strings.Count(string(out), "(server dry run)"); n != len(objs) {
				t.Errorf("kubectl applied %d objects of the %d rendered:\n%s", n, len(objs), out)
			}
		})
	}
}

// The pods of ci/custom-values.yaml are admitted with the priority of
// system-cluster-critical: the class exists in every cluster (the API server creates
// it), and is not limited to kube-system. A Deployment's dry run does not resolve the
// class; a pod's does.
func TestCustomPriorityClass(t *testing.T) {
	const class = "system-cluster-critical"
	objs := objects(t, render(t, "--values", chartDir+"/ci/custom-values.yaml"))
	deploy := only[appsv1.Deployment](t, objs, "Deployment")
	if got := deploy.Spec.Template.Spec.PriorityClassName; got != class {
		t.Fatalf("ci/custom-values.yaml renders priorityClassName %q, want %q", got, class)
	}
	pc, err := client.SchedulingV1().PriorityClasses().Get(t.Context(), class, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The ServiceAccount admission refuses a pod whose ServiceAccount does not exist.
	sa := only[corev1.ServiceAccount](t, objs, "ServiceAccount")
	if _, err := client.CoreV1().ServiceAccounts(installNS).Create(t.Context(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.CoreV1().ServiceAccounts(installNS).Delete(context.Background(), sa.Name, metav1.DeleteOptions{})
	})
	tmpl := deploy.Spec.Template
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: deploy.Name + "-", Labels: tmpl.Labels, Annotations: tmpl.Annotations},
		Spec:       tmpl.Spec,
	}
	created, err := client.CoreV1().Pods(installNS).Create(t.Context(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatalf("a pod of the custom render is refused: %v", err)
	}
	if created.Spec.Priority == nil || *created.Spec.Priority != pc.Value {
		t.Errorf("the pod's priority is %v, want %d (%s)", created.Spec.Priority, pc.Value, class)
	}
}
