package install

import (
	"context"
	"fmt"
	"os"
	"testing"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/test/e2e/controlplane"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// The cluster the tests share.
var (
	cp     *controlplane.ControlPlane
	client kubernetes.Interface
)

func TestMain(m *testing.M) {
	os.Exit(controlplane.RunWithNode(m, controlplane.NodeSuite{
		Name: "tandem-e2e-install",
		// client-go's default of 5 requests a second would throttle the load tests' 10.
		QPS: 50, Burst: 100,
		Ready:  func(c *controlplane.ControlPlane, k kubernetes.Interface) { cp, client = c, k },
		Images: nodeImages,
	}))
}

// nodeImages are the demo images and Tandem's image under two names: the tests' own,
// and the one deploy/install.yaml names.
func nodeImages(ctx context.Context, dir string) ([]string, error) {
	demo, err := images.BuildAll(ctx, dir)
	if err != nil {
		return nil, err
	}
	tarballs := []string{demo}
	released, err := chartImage()
	if err != nil {
		return nil, err
	}
	for _, tag := range []string{images.TandemTag, released} {
		tandem, err := images.BuildTandem(ctx, dir, tag)
		if err != nil {
			return nil, err
		}
		tarballs = append(tarballs, tandem)
	}
	return tarballs, nil
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
