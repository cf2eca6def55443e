package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newValidateCommand() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "validate --config FILE",
		Short: "Check a configuration file and report every problem in it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid, %d sidecars: %s\n", cfg.Source, len(cfg.Sidecars), strings.Join(cfg.Names(), ", "))
			return nil
		},
	}
	addConfigFlag(cmd, &configPath)
	return cmd
}
