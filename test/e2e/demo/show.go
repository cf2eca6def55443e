package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/test/e2e/controlplane"
	"github.com/tandem-io/tandem/test/e2e/isolation"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// runTimeout is how long a pod may take to appear or, with a node, to be Ready.
const runTimeout = 2 * time.Minute

// showSeed applies the test Deployment of examples/test.yaml and shows its pod: with a
// node, once it is Ready.
func showSeed(ctx context.Context, client kubernetes.Interface, cp *controlplane.ControlPlane, node bool) error {
	if err := kubectlCreate(ctx, cp, "examples/test.yaml"); err != nil {
		return err
	}
	done := func(*corev1.Pod) bool { return true }
	if node {
		done = tandemtest.Ready
	}
	pod, err := tandemtest.WaitForPodWhere(ctx, client, "default", "app=test", runTimeout, done)
	if err != nil {
		return err
	}
	say("the pod the controller-manager created, as the API server stored it:")
	fmt.Printf("\n%s\n", tandemtest.DescribePod(pod))
	if pod.Labels["foo"] != "bar" {
		return errNotInjected
	}
	if node {
		return show(ctx, cp, "get", "pods", "-o", "wide")
	}
	return nil
}

// showSidecarsAtWork applies the demo app, which asks for all four demo sidecars, and
// shows each at work in its container's log.
func showSidecarsAtWork(ctx context.Context, client kubernetes.Interface, cp *controlplane.ControlPlane) error {
	if err := kubectlCreate(ctx, cp, "examples/demo/app.yaml"); err != nil {
		return err
	}
	pod, err := tandemtest.WaitForPodWhere(ctx, client, "default", "app=demo-app", runTimeout, tandemtest.Ready)
	if err != nil {
		return err
	}
	// The shipper's first line proves the whole chain: app -> proxy -> app -> file -> shipper.
	if err := waitForLog(ctx, cp, pod.Name, "logs", "logs: shipped: app: request"); err != nil {
		return err
	}
	if err := show(ctx, cp, "get", "pods", "-o", "wide"); err != nil {
		return err
	}
	for _, c := range []struct{ name, what string }{
		{"app", "the app: the secret its init container wrote, then its calls through the proxy"},
		{"proxy", "the proxy (a native sidecar): the app's calls it forwarded, and kubelet's probes"},
		{"logs", "the log shipper: the lines the app wrote to the volume they share"},
	} {
		say(c.what + ":")
		if err := show(ctx, cp, "logs", pod.Name, "-c", c.name, "--tail=4"); err != nil {
			return err
		}
	}
	return nil
}

func kubectlCreate(ctx context.Context, cp *controlplane.ControlPlane, file string) error {
	say("kubectl create -f " + file)
	out, err := cp.Kubectl(ctx, "create", "-f", tandemtest.RepoFile(file))
	fmt.Print(string(out))
	return err
}

// show runs kubectl and prints what it prints, as a person would see it.
func show(ctx context.Context, cp *controlplane.ControlPlane, args ...string) error {
	out, err := cp.Kubectl(ctx, args...)
	fmt.Printf("%s\n", out)
	return err
}

func waitForLog(ctx context.Context, cp *controlplane.ControlPlane, pod, container, want string) error {
	deadline := time.Now().Add(runTimeout)
	for {
		out, err := cp.Kubectl(ctx, "logs", pod, "-c", container)
		if err == nil && strings.Contains(string(out), want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the log of %s/%s lacks %q after %s (%v):\n%s", pod, container, want, runTimeout, err, out)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// tryIt prints the commands that reach this cluster from another terminal.
func tryIt(cp *controlplane.ControlPlane, iso *isolation.Isolation) {
	kubectl := cp.KubectlPath
	if iso != nil {
		// The API server listens on the namespace's loopback only.
		kubectl = "ip netns exec " + iso.Name + " " + kubectl
	}
	say("try it yourself, from another terminal:")
	fmt.Printf("  export KUBECONFIG=%s\n  %s get pods -o yaml\n", cp.KubeconfigPath, kubectl)
	if iso != nil {
		fmt.Printf("  %s logs -f deploy/demo-app -c proxy\n\n", kubectl)
		return
	}
	fmt.Printf("\n(no scheduler or kubelet run here, so pods stay Pending)\n\n")
}
