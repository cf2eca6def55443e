package node

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// stillRunning is how long a Job with a classic sidecar is watched after its app has
// finished, to see that it does not complete.
const stillRunning = 10 * time.Second

// job is a Job whose app makes three calls through the proxy and exits; the pod asks
// for sidecar.
func job(sidecar string) string {
	return `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"},"spec":{"backoffLimit":0,"template":{
		"metadata":{"labels":{"app":"migrate"},"annotations":{"tandem.io/inject":"` + sidecar + `"}},
		"spec":{"restartPolicy":"Never","containers":[{"name":"app","image":"` + images.AppTag + `",
		"args":["-requests","3","-interval","500ms"]}]}}}}`
}

// A native sidecar stops once the app is done: the pod succeeds, the Job completes.
func TestJobWithNativeSidecarCompletes(t *testing.T) {
	t.Parallel()
	ns := tandemtest.Namespace(t, client, nil)
	create(t, ns, "-", job("proxy"))
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, startTimeout, true, func(ctx context.Context) (bool, error) {
		j, err := client.BatchV1().Jobs(ns).Get(ctx, "migrate", metav1.GetOptions{})
		return err == nil && jobCondition(j, batchv1.JobComplete), nil
	})
	p := waitPod(t, ns, "app=migrate", "finished", func(p *corev1.Pod) bool { return true })
	if err != nil {
		t.Fatalf("the Job did not complete: %v; its pod: %s", err, describe(p))
	}
	if p.Status.Phase != corev1.PodSucceeded {
		t.Errorf("pod phase %s, want Succeeded: %s", p.Status.Phase, describe(p))
	}
	if i := slices.IndexFunc(p.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == "proxy" }); i < 0 || p.Spec.InitContainers[i].RestartPolicy == nil {
		t.Errorf("the proxy is not a native sidecar: %v", p.Spec.InitContainers)
	}
	out, err := logs(t.Context(), p, "app")
	if err != nil || !strings.Contains(out, "app: request 3 via http://127.0.0.1:15001: 200") {
		t.Errorf("the app's log (error %v) lacks its third call through the proxy:\n%s", err, out)
	}
}

// The same Job with the proxy as a regular container (native: never): the app finishes,
// the proxy runs on, and so the pod never finishes and the Job never completes. This is
// why `native: auto` is the default.
func TestJobWithClassicSidecarNeverCompletes(t *testing.T) {
	t.Parallel()
	ns := tandemtest.Namespace(t, client, nil)
	create(t, ns, "-", job("proxy-classic"))
	// Whether the app's first call beat the proxy's start does not matter here.
	waitPod(t, ns, "app=migrate", "done with its app", func(p *corev1.Pod) bool {
		s := p.Status.ContainerStatuses
		i := slices.IndexFunc(s, func(s corev1.ContainerStatus) bool { return s.Name == "app" })
		return i >= 0 && s[i].State.Terminated != nil
	})
	deadline := time.Now().Add(stillRunning)
	for time.Now().Before(deadline) {
		p := waitPod(t, ns, "app=migrate", "listed", func(*corev1.Pod) bool { return true })
		if proxy := status(t, p, "proxy"); p.Status.Phase != corev1.PodRunning || proxy.State.Running == nil {
			t.Fatalf("the pod should still run its proxy: %s", describe(p))
		}
		j, err := client.BatchV1().Jobs(ns).Get(t.Context(), "migrate", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if jobCondition(j, batchv1.JobComplete) || jobCondition(j, batchv1.JobFailed) {
			t.Fatalf("the Job finished (%+v) although its proxy still runs", j.Status.Conditions)
		}
		time.Sleep(time.Second)
	}
}

func jobCondition(j *batchv1.Job, kind batchv1.JobConditionType) bool {
	return slices.ContainsFunc(j.Status.Conditions, func(c batchv1.JobCondition) bool {
		return c.Type == kind && c.Status == corev1.ConditionTrue
	})
}
