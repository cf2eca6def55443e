// Command demo is `make demo`: a real control plane on 127.0.0.1 (etcd, kube-apiserver,
// kube-controller-manager), tandem serve behind a MutatingWebhookConfiguration with a
// fresh CA, and the article's test Deployment, whose pod comes out labelled foo=bar and
// with its proxy sidecar. It runs until Ctrl-C, then removes everything.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/test/e2e/controlplane"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

func main() {
	once := flag.Bool("once", false, "exit after showing the injected pod (for tests)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *once); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, once bool) error {
	say("starting etcd, kube-apiserver and kube-controller-manager on 127.0.0.1")
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cp, err := controlplane.Start(startCtx, controlplane.Options{Out: os.Stderr})
	if err != nil {
		return err
	}
	defer cp.Stop()

	dir, err := os.MkdirTemp("", "tandem-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	say("building and starting tandem serve with a fresh CA")
	bin, err := tandemtest.Build(ctx, dir)
	if err != nil {
		return err
	}
	server, err := tandemtest.StartServer(startCtx, tandemtest.Options{
		Binary: bin, Dir: dir, Kubeconfig: cp.KubeconfigPath,
		ConfigFile: tandemtest.RepoFile("examples", "config.yaml"),
	})
	if err != nil {
		return err
	}
	defer server.Stop()

	client, err := kubernetes.NewForConfig(cp.RESTConfig)
	if err != nil {
		return err
	}
	webhook := tandemtest.Webhook{Name: "tandem", URL: server.URL, CABundle: server.CABundle}
	if err := webhook.Register(startCtx, client); err != nil {
		return err
	}
	if err := tandemtest.WaitActive(startCtx, client, "default", "seed"); err != nil {
		return err
	}
	say("registered MutatingWebhookConfiguration tandem -> " + server.URL)

	say("kubectl create -f examples/test.yaml")
	out, err := cp.Kubectl(ctx, "create", "-f", tandemtest.RepoFile("examples", "test.yaml"))
	fmt.Print(string(out))
	if err != nil {
		return err
	}
	pod, err := tandemtest.WaitForPod(ctx, client, "default", "app=test", time.Minute)
	if err != nil {
		return err
	}
	say("the pod the controller-manager created, as the API server stored it:")
	fmt.Println()
	fmt.Print(tandemtest.DescribePod(pod))
	fmt.Println()
	if pod.Labels["foo"] != "bar" {
		return fmt.Errorf("the pod is not labelled foo=bar: injection did not happen (see %s)", server.LogPath)
	}
	if once {
		return nil
	}
	say("try it yourself (no scheduler or kubelet run here, so pods stay Pending):")
	fmt.Printf("  export KUBECONFIG=%s\n  %s get pods -o yaml\n\n", cp.KubeconfigPath, cp.KubectlPath)
	say("running; press Ctrl-C to stop and clean up")
	<-ctx.Done()
	say("stopping")
	return nil
}

func say(msg string) { fmt.Fprintf(os.Stderr, "==> %s\n", msg) }
