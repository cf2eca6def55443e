package rollout

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
	os.Exit(isolation.Main("tandem-e2e-rollout", func(iso *isolation.Isolation) int {
		code, err := run(m, iso)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e rollout setup:", err)
			return 1
		}
		return code
	}))
}

// run starts the cluster with its node, and Tandem serving base.
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
	if err := cp.StartNode(ctx, controlplane.NodeOptions{Isolation: iso, Images: []string{demo}}); err != nil {
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
