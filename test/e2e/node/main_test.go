package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/test/e2e/controlplane"
	"github.com/tandem-io/tandem/test/e2e/isolation"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// The cluster and Tandem server the tests share; each test works in its own namespace.
var (
	cp     *controlplane.ControlPlane
	client kubernetes.Interface
)

// classicProxy is the demo proxy as a regular container (native: never), for the
// failure that native sidecars exist to fix.
const classicProxy = `
  - name: proxy-classic
    description: The demo proxy as a regular container.
    native: never
    containers:
      - name: proxy
        image: ` + images.ProxyTag + `
        args: ["-listen", ":15001", "-admin", ":15000"]
    env:
      - {name: HTTP_PROXY, value: "http://127.0.0.1:15001"}
`

func TestMain(m *testing.M) {
	os.Exit(isolation.Main("tandem-e2e-node", func(iso *isolation.Isolation) int {
		code, err := run(m, iso)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e node setup:", err)
			return 1
		}
		return code
	}))
}

// run starts the cluster with its node, and Tandem serving the demo configuration.
// Everything lives in the isolation's directory, which is kept when a test fails.
func run(m *testing.M, iso *isolation.Isolation) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	if cp, err = controlplane.Start(ctx, controlplane.Options{LogDir: filepath.Join(iso.Dir, "logs"), Out: os.Stderr, Address: isolation.NodeIP}); err != nil {
		return 1, err
	}
	defer cp.Stop()
	if client, err = kubernetes.NewForConfig(cp.RESTConfig); err != nil {
		return 1, err
	}
	demo, err := images.BuildAll(ctx, iso.Dir)
	if err != nil {
		return 1, err
	}
	tandemImage, err := images.BuildTandem(ctx, iso.Dir, images.TandemTag)
	if err != nil {
		return 1, err
	}
	if err := cp.StartNode(ctx, controlplane.NodeOptions{Isolation: iso, Images: []string{demo, tandemImage}}); err != nil {
		return 1, err
	}
	server, err := startTandem(ctx, iso.Dir)
	if err != nil {
		return 1, err
	}
	defer server.Stop()
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "component logs: %s; tandem's: %s\n", cp.LogDir(), server.LogPath)
	}
	return code, nil
}

// startTandem builds tandem, serves examples/demo/config.yaml plus classicProxy, and
// registers the webhook for every namespace but kube-system.
func startTandem(ctx context.Context, dir string) (*tandemtest.Server, error) {
	bin, err := tandemtest.Build(ctx, dir)
	if err != nil {
		return nil, err
	}
	demo, err := os.ReadFile(tandemtest.RepoFile("examples", "demo", "config.yaml"))
	if err != nil {
		return nil, err
	}
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, append(demo, classicProxy...), 0o644); err != nil {
		return nil, err
	}
	tandemDir := filepath.Join(dir, "serve")
	if err := os.MkdirAll(tandemDir, 0o755); err != nil {
		return nil, err
	}
	server, err := tandemtest.StartServer(ctx, tandemtest.Options{Binary: bin, Dir: tandemDir, ConfigFile: config, Kubeconfig: cp.KubeconfigPath})
	if err != nil {
		return nil, err
	}
	webhook := tandemtest.Webhook{Name: "tandem", URL: server.URL, CABundle: server.CABundle, Namespaces: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system"}},
		}}}
	if err = webhook.Register(ctx, client); err == nil {
		err = tandemtest.WaitActive(ctx, client, "default", "seed")
	}
	if err != nil {
		return nil, errors.Join(err, server.Stop())
	}
	return server, nil
}
