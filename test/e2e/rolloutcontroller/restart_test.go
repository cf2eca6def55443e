package rolloutcontroller

import (
	"context"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/internal/rollout"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// A new env var the proxy gives the app is not a change a running pod takes
// (rollout.restart): the Deployment is restarted once, as kubectl rollout restart does,
// with one event, and its new pods carry the env var; intervals later it has not been
// restarted again.
func envRestart(t *testing.T) {
	ns := namespace(t, nil)
	before := runWeb(t, ns, 2)

	next := def{image: current.image, mark: current.mark + "1"}
	serve(t, next)
	after := waitPods(t, ns, 2, rolloutTimeout, "run new pods with PROXY_MARK="+next.mark, func(p *corev1.Pod) bool {
		return proxyRuns(next.image)(p) && slices.Contains(p.Spec.Containers[0].Env, corev1.EnvVar{Name: "PROXY_MARK", Value: next.mark})
	})
	checkNewPods(t, before, after)
	d := webDeployment(t, ns)
	restartedAt := d.Spec.Template.Annotations[rollout.RestartedAtKey]
	if restartedAt == "" {
		t.Errorf("the Deployment's pod template has no %s: %v", rollout.RestartedAtKey, d.Spec.Template.Annotations)
	}
	waitEvents(t, ns, reasonRestart, d.UID)

	time.Sleep(quiet) // intervals in which a restart done must not be done again
	if again := webDeployment(t, ns).Spec.Template.Annotations[rollout.RestartedAtKey]; again != restartedAt {
		t.Errorf("the Deployment was restarted again: %s %s, then %s", rollout.RestartedAtKey, restartedAt, again)
	}
	checkOnce(t, events(t, ns, reasonRestart), reasonRestart, map[types.UID]string{d.UID: "Deployment web"})
	checkSamePods(t, after, waitPods(t, ns, 2, startTimeout, "run", tandemtest.Ready))
}

// Pods created while Tandem has no replica are admitted without their best-effort
// proxy; once Tandem is back, the leader restarts their Deployment (rollout.missing),
// once, and the new pods have the proxy.
func missingRestart(t *testing.T) {
	setReplicas(t, 0)
	t.Cleanup(func() {
		patch := []byte(`{"spec":{"replicas":2}}`)
		_, _ = client.AppsV1().Deployments(tandemNS).Patch(context.WithoutCancel(t.Context()), release, types.MergePatchType, patch, metav1.PatchOptions{})
	})
	ns := namespace(t, nil)
	if _, err := client.AppsV1().Deployments(ns).Create(t.Context(), web(2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	before := waitPods(t, ns, 2, startTimeout, "run without the proxy", func(p *corev1.Pod) bool {
		_, injected := tandemtest.Container(p, "proxy")
		return !injected && tandemtest.Ready(p)
	})

	setReplicas(t, 2)
	after := waitPods(t, ns, 2, rolloutTimeout, "run new pods with the proxy "+current.image, proxyRuns(current.image))
	checkNewPods(t, before, after)
	d := webDeployment(t, ns)
	if d.Spec.Template.Annotations[rollout.RestartedAtKey] == "" {
		t.Errorf("the Deployment's pod template has no %s: %v", rollout.RestartedAtKey, d.Spec.Template.Annotations)
	}
	checkOnce(t, waitEvents(t, ns, reasonRestart, d.UID), reasonRestart, map[types.UID]string{d.UID: "Deployment web"})
}

func webDeployment(t *testing.T, ns string) *appsv1.Deployment {
	t.Helper()
	d, err := client.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
