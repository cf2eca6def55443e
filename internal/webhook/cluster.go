package webhook

import (
	"context"
	"fmt"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/internal/capabilities"
)

// detectNativeSidecars resolves --native-sidecars: true and false are taken as they are;
// auto asks the API server, and is true without a cluster.
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
	found, err := capabilities.Detect(ctx, client)
	if err != nil {
		return false, fmt.Errorf("--native-sidecars=auto: %w", err)
	}
	return found.NativeSidecars, nil
}
