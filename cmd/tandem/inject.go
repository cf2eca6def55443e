package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/internal/inject"
	"github.com/tandem-io/tandem/internal/manifest"
)

// injectFormats are the values of tandem inject -o: manifests, for kubectl apply -f.
var injectFormats = []string{"yaml", "json"}

type injectFlags struct {
	offline    offlineFlags
	configPath string
	output     string
}

func newInjectCommand() *cobra.Command {
	var f injectFlags
	cmd := &cobra.Command{
		Use:   "inject -f FILE|- [--config FILE] [-n NAMESPACE] [--namespace-labels K=V,...] [-o yaml|json]",
		Short: "Show what Tandem does to the pods of some manifests, without a cluster",
		Long: `Reads Kubernetes manifests (YAML or JSON, several documents, Lists), injects the
requested sidecars into every Pod and every workload's pod template exactly as the
webhook would, and writes the result to stdout. Kinds are matched by API group and
name. An object of a kind it does not know whose spec.template holds a pod spec (a
DeploymentConfig, an Argo Rollout, an OpenKruise StatefulSet) is injected there too,
with a warning; other objects pass through unchanged. Null List items are left out,
with a warning. Pods of the system namespaces (kube-system, kube-node-lease,
kube-public), which the webhook never sees, are left as they are, with a warning.
--namespace-labels are the labels of the namespace -n names. Warnings go to stderr.
Input without objects is an error. Running it on its own output changes nothing.`,
		Example: "  tandem inject -f examples/test.yaml --config examples/config.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInject(cmd, &f)
		},
	}
	flags := cmd.Flags()
	f.offline.register(flags)
	addConfigFlag(cmd, &f.configPath)
	addOutputFlag(flags, &f.output, injectFormats)
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func runInject(cmd *cobra.Command, f *injectFlags) error {
	if err := checkOutput(f.output, injectFormats); err != nil {
		return err
	}
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return err
	}
	in, err := f.offline.resolve(cfg)
	if err != nil {
		return err
	}
	docs, err := readManifests(cmd.InOrStdin(), f.offline.file)
	if err != nil {
		return err
	}
	warn := warnTo(cmd.ErrOrStderr())
	err = manifest.TransformObjects(docs, func(obj manifest.Object, pod []byte) ([]byte, error) {
		ns, excluded := in.NamespaceOf(obj.Namespace)
		if excluded != "" {
			warn(obj.Where + ": " + excluded)
			return pod, nil
		}
		res, err := inject.Inject(pod, ns, cfg, in.Options)
		if err != nil {
			return nil, err
		}
		for _, w := range res.Warnings {
			warn(w)
		}
		return inject.Apply(pod, res.Patch)
	}, warn)
	if err != nil {
		return fmt.Errorf("%s: %w", f.offline.file, err)
	}
	if f.output == "json" {
		return manifest.WriteJSON(cmd.OutOrStdout(), docs)
	}
	return manifest.WriteYAML(cmd.OutOrStdout(), docs)
}
