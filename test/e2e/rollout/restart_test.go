package rollout

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/internal/rollout"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// A new env var the proxy gives the app is not a change a running pod takes: the
// Deployment is restarted, by its own strategy (never fewer Ready pods than its
// replicas), and its new pods carry the env var.
func TestEnvChangeRestartsThroughTheDeployment(t *testing.T) {
	serve(t, base)
	ns := tandemtest.Namespace(t, client, nil)
	createDeployment(t, ns, web("web", 2))
	before := waitPods(t, ns, "app=web", 2, proxyRuns(images.ProxyTag))

	serve(t, def{image: base.image, cpu: base.cpu, mark: "2"})
	ready := sample(t, ns, "app=web", func(pods []corev1.Pod) int {
		n := 0
		for _, p := range pods {
			if tandemtest.Ready(&p) {
				n++
			}
		}
		return n
	})
	plan, code := roll(t, "-n", ns, "--apply")
	least, _, samples := ready.stop()
	if code != 0 || plan.Counts[rollout.ActionRestart] != 2 || !plan.Done() {
		t.Fatalf("exit %d, %s, report %+v; want 2 restarted", code, counts(plan), plan.Owners)
	}
	if least < 2 {
		t.Errorf("%d Ready pods at the least (%d samples); the strategy (maxUnavailable 0) keeps 2", least, samples)
	}
	after := waitPods(t, ns, "app=web", 2, proxyRuns(images.ProxyTag))
	checkNewPods(t, before, after)
	for _, p := range after {
		if !slices.Contains(p.Spec.Containers[0].Env, corev1.EnvVar{Name: "PROXY_MARK", Value: "2"}) {
			t.Errorf("%s: the app's env %v lacks PROXY_MARK=2", p.Name, p.Spec.Containers[0].Env)
		}
	}
}

// Pods admitted while the webhook did not act (here: their namespace was excluded) lack
// their sidecars: the rollout restarts their Deployment, and the new pods have them.
func TestPodsAdmittedWithoutTandemAreRestarted(t *testing.T) {
	serve(t, base)
	ns := tandemtest.Namespace(t, client, map[string]string{webhookOff: "true"})
	createDeployment(t, ns, web("web", 2))
	before := waitPods(t, ns, "app=web", 2, tandemtest.Ready)
	if _, ok := tandemtest.Container(&before[0], "proxy"); ok {
		t.Fatal("the pod got the proxy: the webhook acted in the excluded namespace")
	}
	patch := []byte(`{"metadata":{"labels":{"` + webhookOff + `":null}}}`)
	if _, err := client.CoreV1().Namespaces().Patch(t.Context(), ns, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := tandemtest.WaitActive(t.Context(), client, ns, "proxy"); err != nil {
		t.Fatal(err)
	}
	plan, code := roll(t, "-n", ns, "--apply")
	if code != 0 || plan.Counts[rollout.ActionRestart] != 2 || !plan.Done() {
		t.Fatalf("exit %d, %s, report %+v; want 2 restarted", code, counts(plan), plan.Owners)
	}
	after := waitPods(t, ns, "app=web", 2, proxyRuns(images.ProxyTag))
	checkNewPods(t, before, after)
}

func checkNewPods(t *testing.T, before, after []corev1.Pod) {
	t.Helper()
	for _, p := range after {
		if slices.ContainsFunc(before, func(b corev1.Pod) bool { return b.UID == p.UID }) {
			t.Errorf("pod %s was not replaced", p.Name)
		}
	}
}

// A bare pod and a Job's pod are Tandem's to report, not to touch, even for a new proxy
// image that a running pod would take; a paused namespace's pods are skipped. Without --config, the plan is
// made against the configuration in the installed Tandem's ConfigMap.
func TestManualAndPausedPodsAreLeftAlone(t *testing.T) {
	serve(t, base)
	ns := tandemtest.Namespace(t, client, nil)
	inject := map[string]string{"tandem.io/inject": "proxy,logs"}
	bare := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare", Labels: map[string]string{"app": "bare"}, Annotations: inject}, Spec: appPod()}
	if _, err := client.CoreV1().Pods(ns).Create(t.Context(), bare, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createJob(t, ns)
	paused := tandemtest.Namespace(t, client, nil)
	if _, err := client.CoreV1().Namespaces().Patch(t.Context(), paused, types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"`+rollout.PauseKey+`":"`+rollout.PauseValue+`"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	createDeployment(t, paused, web("web", 1))
	left := append(waitPods(t, ns, "app in (bare,batch)", 2, proxyRuns(images.ProxyTag)), waitPods(t, paused, "app=web", 1, proxyRuns(images.ProxyTag))...)

	v2 := def{image: images.ProxyV2Tag, cpu: base.cpu, mark: base.mark}
	serve(t, v2)
	installConfig(t, v2)
	stdout, stderr, code := cli(t, "rollout", "-n", ns, "-o", "json")
	var installed rollout.Plan
	if err := json.Unmarshal([]byte(stdout), &installed); err != nil || code != 0 || installed.Counts[rollout.ActionManual] != 2 {
		t.Errorf("the plan against the installed configuration (exit %d):\n%s%s", code, stdout, stderr)
	}
	if plan, code := roll(t, "-n", ns, "--apply"); code != 0 || plan.Counts[rollout.ActionManual] != 2 {
		t.Errorf("exit %d, %s; want 2 manual", code, counts(plan))
	}
	if plan, code := roll(t, "-n", paused, "--apply"); code != 0 || plan.Counts[rollout.ActionPaused] != 1 {
		t.Errorf("exit %d, %s; want 1 paused", code, counts(plan))
	}
	for _, was := range left {
		p, err := client.CoreV1().Pods(was.Namespace).Get(t.Context(), was.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := tandemtest.Container(p, "proxy"); p.UID != was.UID || c.Image != images.ProxyTag {
			t.Errorf("%s/%s was touched: UID %s (was %s), proxy %s", p.Namespace, p.Name, p.UID, was.UID, c.Image)
		}
	}
}

func createJob(t *testing.T, ns string) {
	t.Helper()
	job := []byte(`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"batch"},"spec":{"backoffLimit":0,"template":{
		"metadata":{"labels":{"app":"batch"},"annotations":{"tandem.io/inject":"proxy,logs"}},
		"spec":{"restartPolicy":"Never","containers":[{"name":"app","image":"` + images.AppTag + `","imagePullPolicy":"Never"}]}}}}`)
	res := client.BatchV1().RESTClient().Post().Namespace(ns).Resource("jobs").Body(job).SetHeader("Content-Type", "application/json").Do(t.Context())
	if err := res.Error(); err != nil {
		t.Fatal(err)
	}
}

// installConfig puts d where the chart puts the configuration: a ConfigMap labelled as
// Tandem's, in tandem-system.
func installConfig(t *testing.T, d def) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tandem-system"}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, nsObj, metav1.CreateOptions{}); err != nil && !isExists(err) {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tandem-config", Labels: map[string]string{"app.kubernetes.io/name": "tandem"}},
		Data: map[string]string{"config.yaml": d.yaml()}}
	if _, err := client.CoreV1().ConfigMaps("tandem-system").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.CoreV1().ConfigMaps("tandem-system").Delete(ctx, "tandem-config", metav1.DeleteOptions{})
	})
}
