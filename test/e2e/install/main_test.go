package install

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/test/e2e/controlplane"
	"github.com/tandem-io/tandem/test/e2e/isolation"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// The cluster the tests share.
var (
	cp     *controlplane.ControlPlane
	client kubernetes.Interface
)

func TestMain(m *testing.M) {
	os.Exit(isolation.Main("tandem-e2e-install", func(iso *isolation.Isolation) int {
		code, err := run(m, iso)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e install setup:", err)
			return 1
		}
		return code
	}))
}

// run starts the cluster with its node, which has the demo images and Tandem's image
// under two names: the tests' own, and the one deploy/install.yaml names.
func run(m *testing.M, iso *isolation.Isolation) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	if cp, err = controlplane.Start(ctx, controlplane.Options{LogDir: filepath.Join(iso.Dir, "logs"), Out: os.Stderr, Address: isolation.NodeIP}); err != nil {
		return 1, err
	}
	defer cp.Stop()
	// client-go's default of 5 requests a second would throttle the load tests' 10.
	config := rest.CopyConfig(cp.RESTConfig)
	config.QPS, config.Burst = 50, 100
	if client, err = kubernetes.NewForConfig(config); err != nil {
		return 1, err
	}
	tarballs := []string{}
	demo, err := images.BuildAll(ctx, iso.Dir)
	if err != nil {
		return 1, err
	}
	tarballs = append(tarballs, demo)
	released, err := chartImage()
	if err != nil {
		return 1, err
	}
	for _, tag := range []string{images.TandemTag, released} {
		tandem, err := images.BuildTandem(ctx, iso.Dir, tag)
		if err != nil {
			return 1, err
		}
		tarballs = append(tarballs, tandem)
	}
	if err := cp.StartNode(ctx, controlplane.NodeOptions{Isolation: iso, Images: tarballs}); err != nil {
		return 1, err
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "component and container logs: %s\n", cp.LogDir())
	}
	return code, nil
}

// chartImage is the image the chart's defaults name: its repository and appVersion.
func chartImage() (string, error) {
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	var values struct {
		Image struct {
			Repository string `json:"repository"`
		} `json:"image"`
	}
	for file, into := range map[string]any{"Chart.yaml": &chart, "values.yaml": &values} {
		data, err := os.ReadFile(tandemtest.RepoFile("deploy", "charts", "tandem", file))
		if err != nil {
			return "", err
		}
		if err := yaml.Unmarshal(data, into); err != nil {
			return "", fmt.Errorf("%s: %w", file, err)
		}
	}
	return values.Image.Repository + ":" + chart.AppVersion, nil
}
