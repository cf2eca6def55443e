package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/client-go/discovery"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/internal/capabilities"
	"github.com/tandem-io/tandem/internal/policy"
)

// compileFormats are the values of tandem compile -o: manifests, for kubectl apply -f.
var compileFormats = []string{"yaml", "json"}

func newCompileCommand() *cobra.Command {
	var (
		configPath, output, kubeVersion string
		opts                            policy.Options
		cluster                         clusterFlags
	)
	cmd := &cobra.Command{
		Use:   "compile [--config FILE] [--partial] [--name NAME] [--kube-version V | --kubeconfig F] [-o yaml|json]",
		Short: "Compile the configuration to admission policies that inject without the webhook",
		Long: `compile writes the MutatingAdmissionPolicy that injects the configured sidecars inside
the API server (admissionregistration.k8s.io/v1, which Kubernetes serves from 1.36), the
ValidatingAdmissionPolicy that refuses the pods Tandem refuses, with the same messages,
and their bindings. Apply them with kubectl apply -f. See docs/policy.md.

With --kube-version, or --kubeconfig or --context (whose API server is then asked), a
cluster that cannot run the policies is refused with why, and nothing is written.

A sidecar that CEL cannot express exactly is named with the field at fault, and nothing
is written. With --partial the others are compiled; pods that ask for one of those left
out are left to the webhook, whole.`,
		Example: `  tandem compile --config config.yaml > policies.yaml
  tandem compile --config config.yaml --partial -o json
  tandem compile --config config.yaml --context prod > policies.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, compileFormats); err != nil {
				return err
			}
			if err := checkPolicyTarget(cmd.Context(), kubeVersion, &cluster); err != nil {
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
	flags.StringVar(&kubeVersion, "kube-version", "", "refuse unless Kubernetes of this version (1.36, v1.36.2) runs the policies by default")
	flags.StringVar(&cluster.kubeconfig, "kubeconfig", "", "refuse unless the API server of this kubeconfig runs the policies")
	flags.StringVar(&cluster.context, "context", "", "refuse unless the API server of this kubeconfig context runs the policies")
	cmd.MarkFlagsMutuallyExclusive("kube-version", "kubeconfig")
	cmd.MarkFlagsMutuallyExclusive("kube-version", "context")
	addOutputFlag(flags, &output, compileFormats)
	return cmd
}

// checkPolicyTarget refuses a target cluster that cannot run the policies: a version
// given (what it serves by default), or the API server of a kubeconfig or context given
// (what it serves). With neither, there is nothing to check.
func checkPolicyTarget(ctx context.Context, kubeVersion string, cluster *clusterFlags) error {
	var found capabilities.Set
	switch {
	case kubeVersion != "":
		var err error
		if found, err = capabilities.ForVersion(kubeVersion); err != nil {
			return fmt.Errorf("--kube-version: %w", err)
		}
	case cluster.kubeconfig != "" || cluster.context != "":
		rc, _, err := cluster.load()
		if err != nil {
			return err
		}
		client, err := discovery.NewDiscoveryClientForConfig(rc)
		if err != nil {
			return err
		}
		if found, err = capabilities.Detect(ctx, client); err != nil {
			return err
		}
	default:
		return nil
	}
	if problem := found.PolicyProblem(); problem != "" {
		return errors.New(problem)
	}
	return nil
}
