package node

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// probeWindow is how long the probes must keep passing: the proxy's liveness probe
// (every 5 s, two failures) would have restarted it several times over.
const probeWindow = 30 * time.Second

// The demo app, with all four demo sidecars, on a real node: each sidecar does its job.
func TestDemoAppSidecarsWork(t *testing.T) {
	t.Parallel()
	ns := tandemtest.Namespace(t, client, nil)
	create(t, ns, tandemtest.RepoFile("examples", "demo", "app.yaml"), "")
	p := waitReady(t, ns, "app=demo-app")
	viaProxy := "app: request 1 via http://127.0.0.1:15001: 200 hello from " + p.Name

	t.Run("the native proxy is up before the app starts", func(t *testing.T) {
		// The app dials the proxy once, at start, without retrying.
		waitLog(t, p, "app", "app: proxy reachable at start: yes")
		proxy, app := status(t, p, "proxy"), status(t, p, "app")
		if proxy.State.Running == nil || app.State.Running == nil {
			t.Fatalf("proxy and app must both run: %s", describe(p))
		}
		if app.State.Running.StartedAt.Before(&proxy.State.Running.StartedAt) {
			t.Errorf("the app started at %s, before the proxy at %s", app.State.Running.StartedAt, proxy.State.Running.StartedAt)
		}
	})
	t.Run("the app's calls go through the proxy", func(t *testing.T) {
		waitLog(t, p, "app", viaProxy)
		waitLog(t, p, "proxy", "proxy: GET http://"+p.Status.PodIP+":8080/hello -> 200")
	})
	t.Run("the log shipper reads the app's file through the injected mount", func(t *testing.T) {
		waitLog(t, p, "logs", "logs: shipped: "+viaProxy)
	})
	t.Run("the init container's file is there when the app starts", func(t *testing.T) {
		waitLog(t, p, "app", "app: read /vault/secrets/greeting: hello "+ns+" from the secrets agent")
		if s := status(t, p, "secrets-init"); s.State.Terminated == nil || s.State.Terminated.ExitCode != 0 {
			t.Errorf("secrets-init did not complete: %+v", s.State)
		}
	})
	t.Run("the injected probes pass and nothing restarts", func(t *testing.T) {
		sinceStart := time.Since(status(t, p, "proxy").State.Running.StartedAt.Time)
		time.Sleep(probeWindow - sinceStart)
		now, err := client.CoreV1().Pods(ns).Get(t.Context(), p.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !tandemtest.Ready(now) {
			t.Errorf("the pod is no longer Ready: %s", describe(now))
		}
		for _, name := range []string{"proxy", "app", "logs"} {
			if s := status(t, now, name); s.RestartCount != 0 || !s.Ready {
				t.Errorf("container %s: ready=%v, %d restarts", name, s.Ready, s.RestartCount)
			}
		}
		if unhealthy := events(t.Context(), t, now, "Unhealthy"); len(unhealthy) > 0 {
			t.Errorf("kubelet reported failing probes: %v", unhealthy)
		}
		// The probes did run: kubelet's requests are in the proxy's log.
		waitLog(t, p, "proxy", "proxy: admin /ready from kube-probe/")
	})
}

// events returns the messages of the pod's events with reason.
func events(ctx context.Context, t *testing.T, p *corev1.Pod, reason string) []string {
	t.Helper()
	selector := fields.Set{"involvedObject.name": p.Name, "reason": reason}.AsSelector().String()
	list, err := client.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	var messages []string
	for _, e := range list.Items {
		messages = append(messages, strings.TrimSpace(e.Message))
	}
	return messages
}
