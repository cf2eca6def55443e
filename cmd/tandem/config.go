package main

import (
	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/examples"
	"github.com/tandem-io/tandem/internal/config"
)

// addConfigFlag registers --config; without it, the embedded examples/config.yaml is used.
func addConfigFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "config", "", "configuration file (default: the embedded examples/config.yaml)")
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Parse(examples.Config, "embedded examples/config.yaml")
	}
	return config.Load(path)
}
