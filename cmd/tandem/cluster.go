package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tandem-io/tandem/internal/version"
)

// clusterFlags are --kubeconfig and --context, the same on every command that reads a
// cluster, and the one place a kubeconfig is loaded.
type clusterFlags struct {
	kubeconfig string
	context    string
}

func (c *clusterFlags) register(flags *pflag.FlagSet, kubeconfigDefault string) {
	flags.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: "+kubeconfigDefault+")")
	flags.StringVar(&c.context, "context", "", "the kubeconfig context to use (default: its current context)")
}

// kubectlDefault is what the commands run from a shell read without --kubeconfig.
const kubectlDefault = "$KUBECONFIG, else ~/.kube/config, else the pod's service account"

// errNoCluster says how to name a cluster to a command that needs one.
var errNoCluster = errors.New("no cluster: give --kubeconfig, set $KUBECONFIG, write ~/.kube/config or run in a pod")

// load finds the cluster as kubectl does: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config, else the pod's service account; --context picks one of the
// kubeconfig's contexts. It also returns the context's namespace.
func (c *clusterFlags) load() (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.kubeconfig
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.context})
	rc, err := loader.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, "", errNoCluster
		}
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	namespace, _, err := loader.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	rc.UserAgent = "tandem/" + version.Version
	return rc, namespace, nil
}

// serving finds the cluster tandem serve reads namespaces from: the kubeconfig (or
// context) named, else the pod's service account, else none. Unlike a command run
// from a shell, it never reads $KUBECONFIG or ~/.kube/config by itself: a webhook started
// by hand must not quietly serve against whatever cluster the shell points at.
func (c *clusterFlags) serving() (*rest.Config, error) {
	if c.kubeconfig != "" || c.context != "" {
		rc, _, err := c.load()
		return rc, err
	}
	rc, err := rest.InClusterConfig()
	if errors.Is(err, rest.ErrNotInCluster) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rc.UserAgent = "tandem/" + version.Version
	return rc, nil
}
