package rollout

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

// The cluster, the tandem binary and the configuration file its server reloads; each
// test works in namespaces of its own, and sets the configuration it starts from.
var (
	cp         *controlplane.ControlPlane
	client     kubernetes.Interface
	bin        string
	configFile string
)

// webhookOff is the namespace label the webhook skips: pods created there are admitted
// as if Tandem were down.
const webhookOff = "e2e.tandem.io/webhook-off"

func TestMain(m *testing.M) {
	os.Exit(controlplane.RunWithNode(m, controlplane.NodeSuite{
		Name:  "tandem-e2e-rollout",
		Ready: func(c *controlplane.ControlPlane, k kubernetes.Interface) { cp, client = c, k },
		Images: func(ctx context.Context, dir string) ([]string, error) {
			demo, err := images.BuildAll(ctx, dir)
			return []string{demo}, err
		},
		Start: serveBase,
	}))
}

// serveBase starts Tandem serving base (startTandem), for the suite.
func serveBase(ctx context.Context, dir string) (func(), string, error) {
	server, err := startTandem(ctx, dir)
	if err != nil {
		return nil, "", err
	}
	return func() { _ = server.Stop() }, "tandem's: " + server.LogPath, nil
}

// startTandem builds tandem, serves base from configFile, and registers the webhook for
// every namespace but kube-system and those labelled webhookOff.
func startTandem(ctx context.Context, dir string) (*tandemtest.Server, error) {
	var err error
	if bin, err = tandemtest.Build(ctx, dir); err != nil {
		return nil, err
	}
	configFile = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(configFile, []byte(base.yaml()), 0o644); err != nil {
		return nil, err
	}
	serveDir := filepath.Join(dir, "serve")
	if err := os.MkdirAll(serveDir, 0o755); err != nil {
		return nil, err
	}
	// A short reload interval: the tests wait for each configuration they write.
	server, err := tandemtest.StartServer(ctx, tandemtest.Options{Binary: bin, Dir: serveDir, ConfigFile: configFile, Kubeconfig: cp.KubeconfigPath})
	if err != nil {
		return nil, err
	}
	webhook := tandemtest.Webhook{Name: "tandem", URL: server.URL, CABundle: server.CABundle, Namespaces: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system"}},
			{Key: webhookOff, Operator: metav1.LabelSelectorOpDoesNotExist},
		}}}
	if err = webhook.Register(ctx, client); err == nil {
		err = tandemtest.WaitActive(ctx, client, "default", "proxy")
	}
	if err != nil {
		return nil, errors.Join(err, server.Stop())
	}
	return server, nil
}
