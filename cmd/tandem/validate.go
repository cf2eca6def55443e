package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/internal/policy"
)

func newValidateCommand() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "validate [--config FILE]",
		Short: "Check a configuration file and report every problem in it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: valid, %d sidecars: %s\n", cfg.Source, len(cfg.Sidecars), strings.Join(cfg.Names(), ", "))
			// Whether each sidecar can also be served by admission policy (tandem compile).
			out, _ := policy.Compile(cfg, policy.Options{Partial: true})
			if len(out.Compiled) > 0 {
				fmt.Fprintf(w, "compiles to admission policy: %s\n", strings.Join(out.Compiled, ", "))
			}
			if len(out.Webhook) > 0 {
				fmt.Fprintf(w, "webhook only (tandem compile --partial leaves them to the webhook): %s\n", strings.Join(out.Webhook, ", "))
				for _, p := range out.Problems {
					fmt.Fprintln(w, "  "+p.String())
				}
			}
			return nil
		},
	}
	addConfigFlag(cmd, &configPath)
	return cmd
}
