package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/internal/policy"
)

// compileFormats are the values of tandem compile -o: manifests, for kubectl apply -f.
var compileFormats = []string{"yaml", "json"}

func newCompileCommand() *cobra.Command {
	var (
		configPath, output string
		opts               policy.Options
	)
	cmd := &cobra.Command{
		Use:   "compile [--config FILE] [--partial] [--name NAME] [-o yaml|json]",
		Short: "Compile the configuration to admission policies that inject without the webhook",
		Long: `compile writes the MutatingAdmissionPolicy that injects the configured sidecars inside
the API server (admissionregistration.k8s.io/v1, which Kubernetes 1.37 serves), the
ValidatingAdmissionPolicy that refuses the pods Tandem refuses, with the same messages,
and their bindings. Apply them with kubectl apply -f. See docs/policy.md.

A sidecar that CEL cannot express exactly is named with the field at fault, and nothing
is written. With --partial the others are compiled; pods that ask for one of those left
out are left to the webhook, whole.`,
		Example: `  tandem compile --config config.yaml > policies.yaml
  tandem compile --config config.yaml --partial -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, compileFormats); err != nil {
				return err
			}
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			out, err := policy.Compile(cfg, opts)
			if err != nil {
				return err
			}
			if len(out.Webhook) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: left to the webhook (pods that ask for one of them are not injected by the policy): %s\n", strings.Join(out.Webhook, ", "))
				for _, p := range out.Problems {
					fmt.Fprintln(cmd.ErrOrStderr(), "  "+p.String())
				}
			}
			if output == "json" {
				return out.WriteJSON(cmd.OutOrStdout())
			}
			return out.WriteYAML(cmd.OutOrStdout())
		},
	}
	addConfigFlag(cmd, &configPath)
	flags := cmd.Flags()
	flags.BoolVar(&opts.Partial, "partial", false, "compile the sidecars that can be and leave the others to the webhook")
	flags.StringVar(&opts.Name, "name", "tandem", "name of the policies and their bindings")
	addOutputFlag(flags, &output, compileFormats)
	return cmd
}
