package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/test/e2e/controlplane"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// The one control plane and Tandem server the tests share; each test works in its own
// namespace.
var (
	cp     *controlplane.ControlPlane
	client kubernetes.Interface
	tandem *tandemtest.Server
	bin    string // the tandem binary
	work   string // scratch directory, removed at the end
	config string // the config file tandem serves
)

// extraSidecars are added to examples/config.yaml for the tests: one restricted to
// labelled namespaces.
const extraSidecars = `
  - name: vault
    namespaces:
      matchLabels:
        vault.example.com/allowed: "true"
    containers:
      - name: vault-agent
        image: example.com/vault:1.0
`

// webhookLabel marks namespaces that tests route to a webhook of their own; the shared
// webhook leaves them alone.
const webhookLabel = "e2e.tandem.io/webhook"

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		if cp != nil {
			fmt.Fprintf(os.Stderr, "component logs: %s\n", cp.LogDir())
		}
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var err error
	if work, err = os.MkdirTemp("", "tandem-e2e-"); err != nil {
		return 1, err
	}
	code := 1
	defer func() {
		// A failed run keeps every component's log (and Tandem's) for a look.
		if code == 0 {
			os.RemoveAll(work)
		} else {
			fmt.Fprintf(os.Stderr, "logs of etcd, kube-apiserver, kube-controller-manager and tandem kept in %s\n", work)
		}
	}()
	if cp, err = controlplane.Start(ctx, controlplane.Options{LogDir: filepath.Join(work, "logs"), Out: os.Stderr}); err != nil {
		return 1, err
	}
	defer cp.Stop()
	if client, err = kubernetes.NewForConfig(cp.RESTConfig); err != nil {
		return 1, err
	}
	if bin, err = tandemtest.Build(ctx, work); err != nil {
		return 1, err
	}
	examples, err := os.ReadFile(tandemtest.RepoFile("examples", "config.yaml"))
	if err != nil {
		return 1, err
	}
	config = filepath.Join(work, "config.yaml")
	if err := os.WriteFile(config, append(examples, extraSidecars...), 0o644); err != nil {
		return 1, err
	}
	if tandem, err = startTandem(ctx, "main"); err != nil {
		return 1, err
	}
	defer tandem.Stop()
	shared := tandemtest.Webhook{Name: "tandem", URL: tandem.URL, CABundle: tandem.CABundle}
	shared.Namespaces = exceptTestRouted()
	if err := shared.Register(ctx, client); err != nil {
		return 1, err
	}
	if err := tandemtest.WaitActive(ctx, client, "default", "seed"); err != nil {
		return 1, err
	}
	code = m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "tandem log:\n%s\n", tail(tandem.LogPath, 40))
	}
	return code, nil
}

// startTandem runs a tandem serve with the tests' config in a directory of its own.
func startTandem(ctx context.Context, name string) (*tandemtest.Server, error) {
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return tandemtest.StartServer(ctx, tandemtest.Options{Binary: bin, Dir: dir, ConfigFile: config, Kubeconfig: cp.KubeconfigPath})
}

func tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	start := len(data)
	for n := 0; start > 0 && n <= lines; start-- {
		if data[start-1] == '\n' {
			n++
		}
	}
	return string(data[start:])
}
