package controlplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/test/e2e/isolation"
)

// NodeSuite is what an end-to-end package with a node asks of its TestMain.
type NodeSuite struct {
	// Name names the isolation (tandem-e2e-rollout), and the messages.
	Name string
	// QPS and Burst pace the suite's client; zero: client-go's defaults.
	QPS   float32
	Burst int
	// Ready gets the control plane and the client as soon as they work, before the node
	// starts: the package keeps them for its tests and for Start.
	Ready func(cp *ControlPlane, client kubernetes.Interface)
	// Images builds, in dir, the image tarballs the node imports.
	Images func(ctx context.Context, dir string) ([]string, error)
	// Start, when set, runs once the node is ready (Tandem started, say), in dir; stop
	// undoes it, and logs names what else to read when a test fails.
	Start func(ctx context.Context, dir string) (stop func(), logs string, err error)
}

// setupTimeout bounds everything before the tests: the control plane, the images, the
// node and Start.
const setupTimeout = 5 * time.Minute

// RunWithNode is the TestMain of a package with a node: in an isolation named s.Name, it
// starts the control plane on the node's address and the node, runs s.Start and the
// tests, and stops everything. It returns the exit status; when a test fails, it says
// where the component and container logs are (the isolation keeps them).
func RunWithNode(m *testing.M, s NodeSuite) int {
	return isolation.Main(s.Name, func(iso *isolation.Isolation) int {
		code, err := s.run(m, iso)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s setup: %v\n", s.Name, err)
			return 1
		}
		return code
	})
}

func (s NodeSuite) run(m *testing.M, iso *isolation.Isolation) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	cp, err := Start(ctx, Options{LogDir: filepath.Join(iso.Dir, "logs"), Out: os.Stderr, Address: isolation.NodeIP})
	if err != nil {
		return 1, err
	}
	defer cp.Stop()
	config := rest.CopyConfig(cp.RESTConfig)
	if s.QPS > 0 {
		config.QPS, config.Burst = s.QPS, s.Burst
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return 1, err
	}
	s.Ready(cp, client)
	tarballs, err := s.Images(ctx, iso.Dir)
	if err != nil {
		return 1, err
	}
	if err := cp.StartNode(ctx, NodeOptions{Isolation: iso, Images: tarballs}); err != nil {
		return 1, err
	}
	logs := ""
	if s.Start != nil {
		stop, more, err := s.Start(ctx, iso.Dir)
		if err != nil {
			return 1, err
		}
		defer stop()
		logs = "; " + more
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "component and container logs: %s%s\n", cp.LogDir(), logs)
	}
	return code, nil
}
