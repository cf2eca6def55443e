package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/test/e2e/controlplane"
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
	os.Exit(controlplane.RunWithNode(m, controlplane.NodeSuite{
		Name:  "tandem-e2e-node",
		Ready: func(c *controlplane.ControlPlane, k kubernetes.Interface) { cp, client = c, k },
		Images: func(ctx context.Context, dir string) ([]string, error) {
			demo, err := images.BuildAll(ctx, dir)
			if err != nil {
				return nil, err
			}
			tandem, err := images.BuildTandem(ctx, dir, images.TandemTag)
			return []string{demo, tandem}, err
		},
		Start: serveDemo,
	}))
}

// serveDemo starts Tandem serving the demo configuration (startTandem), for the suite.
// Everything lives in the isolation's directory, which is kept when a test fails.
func serveDemo(ctx context.Context, dir string) (func(), string, error) {
	server, err := startTandem(ctx, dir)
	if err != nil {
		return nil, "", err
	}
	return func() { _ = server.Stop() }, "tandem's: " + server.LogPath, nil
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
