package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/explain"
)

// explainExitUsage is explain's status for bad flags or arguments, unreadable input or
// config, or no cluster: CI asks "does this manifest get its sidecars?" and must tell
// "could not say" from "no", which is main's status for any error, 1
// (docs/annotations.md).
const explainExitUsage = 2

// errExplainMissing is what main prints, on stderr, when explain's answer is "no".
var errExplainMissing = errors.New("some pods or pod templates do not get every sidecar they ask for")

// explainFlags hold the flags of explain and its subcommands; --config and -o are
// explain's persistent flags, the others each command's own.
type explainFlags struct {
	configPath string
	output     string
	// offline
	offline offlineFlags
	// live
	cluster      clusterFlags
	podNamespace string
}

func newExplainCommand() *cobra.Command {
	var f explainFlags
	cmd := &cobra.Command{
		Use:   "explain (-f FILE|- | pod NAME | namespace NAME) [--config FILE] [-o text|json|yaml]",
		Short: "Say which sidecars each pod asks for, which it gets, and why",
		Long: `Explains, for every Pod and every workload's pod template of some manifests (the same
inputs and flags as tandem inject), or for pods in a cluster (explain pod, explain
namespace): which sidecars are asked for and by whom, the decision on each with its
reason, the knob values and where they come from, and the warnings. For a pod admitted
before (one that carries tandem.io/status) it says whether each sidecar it carries
matches the current definition.

Exit status: 0 when every pod or template gets (or carries) every sidecar it asks for,
1 when one is skipped, denied, missing or outdated, 2 when explain cannot say (bad
flags, a manifest without objects or unreadable, an unreadable config, no cluster, or
no --config against one). Warnings about the manifest go to stderr, as tandem inject
writes them. See docs/annotations.md.`,
		Example: `  tandem explain -f deploy.yaml --config config.yaml
  tandem explain -f - -o json < pod.yaml
  tandem explain pod web-7d9c -n shop --config config.yaml
  tandem explain namespace shop -o yaml --config config.yaml --context staging`,
		Args: explainNoArgs,
		RunE: explainRunE(&f, func(cmd *cobra.Command, _ []string, cfg *config.Config) ([]explain.Pod, error) {
			return explainManifests(cmd, &f, cfg)
		}),
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return explainUsageFailure(err) })
	persistent := cmd.PersistentFlags()
	persistent.StringVar(&f.configPath, "config", "", "configuration file (default: the embedded examples/config.yaml, also named "+builtinConfig+"; required by explain pod and explain namespace)")
	addOutputFlag(persistent, &f.output, explain.Formats)
	f.offline.register(cmd.Flags())
	cmd.AddCommand(newExplainPodCommand(&f), newExplainNamespaceCommand(&f))
	return cmd
}

func newExplainPodCommand(f *explainFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pod NAME --config FILE [-n NAMESPACE] [--kubeconfig FILE] [--context NAME]",
		Short: "Explain a pod of the cluster: what it asks for, what it carries, and why",
		Long: `Reads the pod and its namespace's labels from the API server and explains the pod as
admission would now, with the server's support for native sidecars. What the pod
carries is what its tandem.io/status records; a pod without one never went through
Tandem.`,
		Args: explainOneArg("the pod's name"),
		RunE: explainRunE(f, func(cmd *cobra.Command, args []string, cfg *config.Config) ([]explain.Pod, error) {
			return explainCluster(cmd.Context(), f, cfg, f.podNamespace, args[0])
		}),
	}
	cmd.Flags().StringVarP(&f.podNamespace, "namespace", "n", "", "the pod's namespace (default: the kubeconfig context's)")
	f.cluster.register(cmd.Flags(), kubectlDefault)
	return cmd
}

func newExplainNamespaceCommand(f *explainFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "namespace NAME --config FILE [--kubeconfig FILE] [--context NAME]",
		Short: "Explain every pod of a namespace of the cluster",
		Args:  explainOneArg("the namespace's name"),
		RunE: explainRunE(f, func(cmd *cobra.Command, args []string, cfg *config.Config) ([]explain.Pod, error) {
			return explainCluster(cmd.Context(), f, cfg, args[0], "")
		}),
	}
	f.cluster.register(cmd.Flags(), kubectlDefault)
	return cmd
}

// explainRunE checks the output format and loads the config before explaining, renders
// the pods, and turns the verdict into the exit status.
func explainRunE(f *explainFlags, explainPods func(*cobra.Command, []string, *config.Config) ([]explain.Pod, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := checkOutput(f.output, explain.Formats); err != nil {
			return explainUsageFailure(err)
		}
		cfg, err := loadConfig(f.configPath)
		if err != nil {
			return explainUsageFailure(err)
		}
		pods, err := explainPods(cmd, args, cfg)
		if err != nil {
			return explainUsageFailure(err)
		}
		if err := explain.Write(cmd.OutOrStdout(), f.output, pods); err != nil {
			return explainUsageFailure(err)
		}
		if !explain.OK(pods) {
			return errExplainMissing
		}
		return nil
	}
}

func explainManifests(cmd *cobra.Command, f *explainFlags, cfg *config.Config) ([]explain.Pod, error) {
	if f.offline.file == "" {
		return nil, errors.New("explain needs -f FILE (- for stdin), or a subcommand: explain pod NAME, explain namespace NAME")
	}
	in, err := f.offline.resolve(cfg)
	if err != nil {
		return nil, err
	}
	docs, err := readManifests(cmd.InOrStdin(), f.offline.file)
	if err != nil {
		return nil, err
	}
	pods, err := explain.Manifests(docs, in, warnTo(cmd.ErrOrStderr()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.offline.file, err)
	}
	return pods, nil
}

// explainUsageFailure has tandem exit with explainExitUsage.
func explainUsageFailure(err error) error {
	return &exitStatus{code: explainExitUsage, err: err}
}

// explainOneArg accepts exactly one argument, what.
func explainOneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return explainUsageFailure(fmt.Errorf("%s takes one argument, %s; got %d", cmd.CommandPath(), what, len(args)))
		}
		return nil
	}
}

// explainNoArgs refuses what cobra would otherwise take for explain's arguments: a mistyped
// subcommand.
func explainNoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return explainUsageFailure(fmt.Errorf("unknown command %q for %q: want -f FILE, pod NAME or namespace NAME", args[0], cmd.CommandPath()))
	}
	return nil
}
