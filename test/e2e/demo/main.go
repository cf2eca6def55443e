// Command demo is `make demo`: a real cluster, tandem serve behind a
// MutatingWebhookConfiguration with a fresh CA, and the test Deployment of
// examples/test.yaml, whose pod comes out labelled foo=bar and with its proxy sidecar.
//
// Where the machine can (Linux, root), the cluster has a node: containerd, kubelet and
// the CNI bridge in a network namespace of their own, running images built from
// test/images. The pods then really run, and a second Deployment shows the demo's
// sidecars at work. Elsewhere it runs the control plane only (etcd, kube-apiserver,
// kube-controller-manager on 127.0.0.1), says why, and the pods stay Pending.
//
// It runs until Ctrl-C (or SIGTERM), then removes everything and exits 0, even when
// stopped while still starting; it exits 1 when something failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/test/e2e/controlplane"
	"github.com/tandem-io/tandem/test/e2e/isolation"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

func main() {
	once := flag.Bool("once", false, "exit after showing the injected pods (for tests)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	restore := func() {}
	if !isolation.Inside() {
		restore = takeTerminal()
	}
	code := start(func(iso *isolation.Isolation) int {
		return exitCode(run(ctx, iso, *once))
	})
	restore()
	os.Exit(code)
}

// errStopped is what run returns when a stop signal (Ctrl-C, SIGTERM) cut a step short:
// the demo was stopped, it did not fail.
var errStopped = errors.New("stopped")

// cutShort returns err, or errStopped when a stop signal has already cancelled ctx: the
// step failed because it was stopped. run calls it where a step fails, before its
// cleanup, so that a signal arriving during the cleanup after a real failure does not
// hide that failure.
func cutShort(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		say("stopping")
		return errStopped
	}
	return err
}

// exitCode is the demo's exit status once run has cleaned up: 0 when it ran until it was
// stopped or was stopped while starting, 1 when it failed.
func exitCode(err error) int {
	if err == nil || errors.Is(err, errStopped) {
		return 0
	}
	fmt.Fprintln(os.Stderr, "demo:", err)
	return 1
}

// start runs demo inside an isolation with a node when this machine can have one, and
// without, after saying why, when it cannot. It returns demo's exit code.
func start(demo func(*isolation.Isolation) int) int {
	if !isolation.Inside() {
		if err := isolation.Preflight(); err != nil {
			say(fmt.Sprintf("no node, so pods will stay Pending: %v", err))
			return demo(nil)
		}
	}
	return isolation.Main("tandem-demo", demo)
}

// run is the demo; iso is nil without a node. A stop signal cancels ctx: run then cleans
// up and returns nil when the demo was up, errStopped when it was not yet.
func run(ctx context.Context, iso *isolation.Isolation, once bool) error {
	dir, err := os.MkdirTemp("", "tandem-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cp, err := startCluster(startCtx, iso, dir)
	if cp != nil {
		defer cp.Stop()
	}
	if err != nil {
		return cutShort(ctx, err)
	}
	client, err := kubernetes.NewForConfig(cp.RESTConfig)
	if err != nil {
		return err
	}
	config := "examples/config.yaml"
	if iso != nil {
		config = "examples/demo/config.yaml"
	}
	server, err := startTandem(startCtx, client, cp, dir, config)
	if server != nil {
		defer server.Stop()
	}
	if err != nil {
		return cutShort(ctx, err)
	}
	if err := showSeed(ctx, client, cp, iso != nil); err != nil {
		return cutShort(ctx, fmt.Errorf("%w (tandem's log: %s)", err, server.LogPath))
	}
	if iso != nil {
		if err := showSidecarsAtWork(ctx, client, cp); err != nil {
			return cutShort(ctx, err)
		}
	}
	if once {
		return nil
	}
	tryIt(cp, iso)
	say("running; press Ctrl-C to stop and clean up")
	<-ctx.Done()
	say("stopping")
	return nil
}

// startCluster starts the control plane and, given an isolation, a node running the
// demo images.
func startCluster(ctx context.Context, iso *isolation.Isolation, dir string) (*controlplane.ControlPlane, error) {
	if iso == nil {
		say("starting etcd, kube-apiserver and kube-controller-manager on 127.0.0.1")
	} else {
		say("starting a cluster in network namespace " + iso.Name + ": etcd, kube-apiserver, kube-controller-manager, kube-scheduler, and a node (containerd, kubelet)")
	}
	opts := controlplane.Options{Out: os.Stderr}
	if iso != nil {
		opts.Address = isolation.NodeIP // so that pods reach the API server too
	}
	cp, err := controlplane.Start(ctx, opts)
	if err != nil || iso == nil {
		return cp, err
	}
	say("building the demo images (test/images)")
	tarball, err := images.BuildAll(ctx, dir)
	if err != nil {
		return cp, err
	}
	return cp, cp.StartNode(ctx, controlplane.NodeOptions{Isolation: iso, Images: []string{tarball}})
}

// startTandem builds tandem, serves config and registers the webhook.
func startTandem(ctx context.Context, client kubernetes.Interface, cp *controlplane.ControlPlane, dir, config string) (*tandemtest.Server, error) {
	say("building and starting tandem serve with a fresh CA and " + config)
	bin, err := tandemtest.Build(ctx, dir)
	if err != nil {
		return nil, err
	}
	server, err := tandemtest.StartServer(ctx, tandemtest.Options{Binary: bin, Dir: dir, Kubeconfig: cp.KubeconfigPath, ConfigFile: tandemtest.RepoFile(config)})
	if err != nil {
		return nil, err
	}
	webhook := tandemtest.Webhook{Name: "tandem", URL: server.URL, CABundle: server.CABundle}
	if err := webhook.Register(ctx, client); err != nil {
		return server, err
	}
	if err := tandemtest.WaitActive(ctx, client, "default", "seed"); err != nil {
		return server, err
	}
	say("registered MutatingWebhookConfiguration tandem -> " + server.URL)
	return server, nil
}

var errNotInjected = errors.New("the pod is not labelled foo=bar: injection did not happen")

func say(msg string) { fmt.Fprintf(os.Stderr, "==> %s\n", msg) }
