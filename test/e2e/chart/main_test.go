package chart

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/internal/capabilities"
	"github.com/tandem-io/tandem/test/e2e/controlplane"
)

// The one control plane the tests share. They run one after the other: the routing
// test reads counters of the whole API server.
var (
	cp     *controlplane.ControlPlane
	client kubernetes.Interface
	// server is what the API server can do, asked once.
	server capabilities.Set
)

// installNS is the namespace every render is made for, as deploy/install.yaml is.
const installNS = "tandem-system"

// standInCRDs stand for cert-manager's and prometheus-operator's CRDs, so that renders
// with their kinds can be dry-run too.
const standInCRDs = "testdata/crds.yaml"

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart e2e setup:", err)
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
	logs, err := os.MkdirTemp("", "tandem-chart-e2e-")
	if err != nil {
		return 1, err
	}
	code := 1
	defer func() {
		// A failed run keeps every component's log for a look.
		if code == 0 {
			os.RemoveAll(logs)
		} else {
			fmt.Fprintf(os.Stderr, "logs of etcd, kube-apiserver and kube-controller-manager kept in %s\n", logs)
		}
	}()
	if cp, err = controlplane.Start(ctx, controlplane.Options{LogDir: logs, Out: os.Stderr}); err != nil {
		return 1, err
	}
	defer cp.Stop()
	if client, err = kubernetes.NewForConfig(cp.RESTConfig); err != nil {
		return 1, err
	}
	if server, err = capabilities.Detect(ctx, client.Discovery()); err != nil {
		return 1, err
	}
	// A dry run creates nothing, so the namespace of the namespaced objects must exist
	// already, with the ServiceAccount pods need.
	if err := createNamespace(ctx, installNS); err != nil {
		return 1, err
	}
	// Before any other kubectl call, so that no discovery cache misses the new kinds.
	if _, err := cp.Kubectl(ctx, "apply", "-f", standInCRDs); err != nil {
		return 1, err
	}
	if _, err := cp.Kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s", "-f", standInCRDs); err != nil {
		return 1, err
	}
	code = m.Run()
	return code, nil
}

// createNamespace creates a namespace and waits for its default ServiceAccount, without
// which the API server refuses pods in it.
func createNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
}

// needPolicies skips a test that applies admission policies on an API server without
// them; TestModeFollowsTheCluster checks that the chart refuses them there.
func needPolicies(t *testing.T) {
	t.Helper()
	if !server.Policies() {
		t.Skipf("Kubernetes %s serves no MutatingAdmissionPolicy v1; TestModeFollowsTheCluster checks the chart refuses mode policy and auto there", server.Version)
	}
}
