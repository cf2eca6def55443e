package rolloutcontroller

import (
	"context"
	"os"
	"testing"

	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/test/e2e/controlplane"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// The cluster the tests share.
var (
	cp     *controlplane.ControlPlane
	client kubernetes.Interface
	// bin is the tandem binary, for tandem audit.
	bin string
)

func TestMain(m *testing.M) {
	os.Exit(controlplane.RunWithNode(m, controlplane.NodeSuite{
		Name: "tandem-e2e-rolloutcontroller",
		// client-go's default of 5 requests a second would slow the samplers, which list
		// pods every 200 ms while the tests poll events and metrics.
		QPS: 50, Burst: 100,
		Ready:  func(c *controlplane.ControlPlane, k kubernetes.Interface) { cp, client = c, k },
		Images: nodeImages,
	}))
}

// nodeImages builds the tandem binary (for tandem audit), and the images: the demo's
// (the proxy under two tags) and Tandem's.
func nodeImages(ctx context.Context, dir string) ([]string, error) {
	var err error
	if bin, err = tandemtest.Build(ctx, dir); err != nil {
		return nil, err
	}
	demo, err := images.BuildAll(ctx, dir)
	if err != nil {
		return nil, err
	}
	tandem, err := images.BuildTandem(ctx, dir, images.TandemTag)
	return []string{demo, tandem}, err
}
