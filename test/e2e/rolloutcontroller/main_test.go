package rolloutcontroller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/test/e2e/controlplane"
	"github.com/tandem-io/tandem/test/e2e/isolation"
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
	os.Exit(isolation.Main("tandem-e2e-rolloutcontroller", func(iso *isolation.Isolation) int {
		code, err := run(m, iso)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e rolloutcontroller setup:", err)
			return 1
		}
		return code
	}))
}

// run starts the cluster with its node, which has the demo images (the proxy under two
// tags) and Tandem's image.
func run(m *testing.M, iso *isolation.Isolation) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	if cp, err = controlplane.Start(ctx, controlplane.Options{LogDir: filepath.Join(iso.Dir, "logs"), Out: os.Stderr, Address: isolation.NodeIP}); err != nil {
		return 1, err
	}
	defer cp.Stop()
	// client-go's default of 5 requests a second would slow the samplers, which list
	// pods every 200 ms while the tests poll events and metrics.
	config := rest.CopyConfig(cp.RESTConfig)
	config.QPS, config.Burst = 50, 100
	if client, err = kubernetes.NewForConfig(config); err != nil {
		return 1, err
	}
	if bin, err = tandemtest.Build(ctx, iso.Dir); err != nil {
		return 1, err
	}
	demo, err := images.BuildAll(ctx, iso.Dir)
	if err != nil {
		return 1, err
	}
	tandem, err := images.BuildTandem(ctx, iso.Dir, images.TandemTag)
	if err != nil {
		return 1, err
	}
	if err := cp.StartNode(ctx, controlplane.NodeOptions{Isolation: iso, Images: []string{demo, tandem}}); err != nil {
		return 1, err
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "component and container logs: %s\n", cp.LogDir())
	}
	return code, nil
}
