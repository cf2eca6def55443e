package webhook

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

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
