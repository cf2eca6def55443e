package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tandem-io/tandem/examples"
	"github.com/tandem-io/tandem/internal/config"
)

// builtinConfig names the embedded examples/config.yaml on --config: the way to use it
// where a configuration must be named (against a cluster).
const builtinConfig = "builtin:example"

// exampleSource is how the embedded example names itself in errors and logs.
const exampleSource = "embedded examples/config.yaml"

// addConfigFlag registers --config for the commands that work without a cluster; without
// it, they use the embedded example.
func addConfigFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "config", "", "configuration file (default: the embedded examples/config.yaml, also named "+builtinConfig+")")
}

// addClusterConfigFlag registers --config for the commands that work against a cluster:
// there the example is never a silent default.
func addClusterConfigFlag(flags *pflag.FlagSet, path *string, extra string) {
	flags.StringVar(path, "config", "", "configuration file"+extra+"; required against a cluster ("+builtinConfig+" names the embedded example)")
}

// loadConfig loads path; "" and builtinConfig are the embedded example.
func loadConfig(path string) (*config.Config, error) {
	if path == "" || path == builtinConfig {
		return config.Parse(examples.Config, exampleSource)
	}
	return config.Load(path)
}

// requireConfig refuses to run against a cluster without a named configuration: auditing
// or serving the example by mistake looks like it works and says nothing true.
func requireConfig(command, path string) error {
	if path != "" {
		return nil
	}
	return fmt.Errorf("no --config: against a cluster, %s needs the configuration the cluster runs; give --config FILE, or --config %s to use the embedded example", command, builtinConfig)
}
