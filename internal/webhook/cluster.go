package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ClusterConfig finds the cluster Tandem reads namespaces from: the kubeconfig file when
// one is named, else the pod's service account when Tandem runs in a pod. Outside a pod
// and without a kubeconfig it returns nil, and Tandem runs without a cluster. $KUBECONFIG
// is ignored on purpose: a server started on a laptop must not quietly read whatever
// cluster the shell points at.
func ClusterConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	cfg, err := rest.InClusterConfig()
	if errors.Is(err, rest.ErrNotInCluster) {
		return nil, nil
	}
	return cfg, err
}

// nativeSidecarsSince is the Kubernetes version that runs init containers with
// restartPolicy Always as sidecars by default (beta, on by default, in 1.29).
var nativeSidecarsSince = version.MajorMinor(1, 29)

// discoveryTimeout bounds asking the API server its version.
const discoveryTimeout = 10 * time.Second

// detectNativeSidecars resolves --native-sidecars: true and false are taken as they are;
// auto asks the API server its version, and is true without a cluster.
func detectNativeSidecars(ctx context.Context, mode string, cluster *rest.Config) (bool, error) {
	switch mode {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	if cluster == nil {
		return true, nil
	}
	client, err := discovery.NewDiscoveryClientForConfig(cluster)
	if err != nil {
		return false, err
	}
	native, err := NativeSidecars(ctx, client)
	if err != nil {
		return false, fmt.Errorf("--native-sidecars=auto: %w", err)
	}
	return native, nil
}

// NativeSidecars tells whether the API server runs native sidecars: whether it is 1.29 or
// newer. `tandem serve --native-sidecars=auto` and `tandem explain pod` ask it.
func NativeSidecars(ctx context.Context, server discovery.ServerVersionInterfaceWithContext) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	info, err := server.ServerVersionWithContext(ctx)
	if err != nil {
		return false, fmt.Errorf("asking the API server its version: %w", err)
	}
	v, err := version.ParseGeneric(info.GitVersion)
	if err != nil {
		return false, fmt.Errorf("the API server's version %q: %w", info.GitVersion, err)
	}
	return v.AtLeast(nativeSidecarsSince), nil
}
