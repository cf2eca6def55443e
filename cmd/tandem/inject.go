package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/internal/inject"
	"github.com/tandem-io/tandem/internal/manifest"
)

// maxManifestSize bounds what inject reads, so a mistaken `-f /dev/zero` fails cleanly.
const maxManifestSize = 64 << 20

type injectFlags struct {
	file            string
	configPath      string
	output          string
	namespace       string
	namespaceLabels map[string]string
	nativeSidecars  bool
}

func newInjectCommand() *cobra.Command {
	var f injectFlags
	cmd := &cobra.Command{
		Use:   "inject -f FILE|- [--config FILE] [-o yaml|json]",
		Short: "Show what Tandem does to the pods of some manifests, without a cluster",
		Long: `Reads Kubernetes manifests (YAML or JSON, several documents, Lists), injects the
requested sidecars into every Pod and every workload's pod template exactly as the
webhook would, and writes the result to stdout. An object of a kind it does not know
whose spec.template holds a pod spec (a DeploymentConfig, an Argo Rollout) is injected
there too, with a warning; other objects pass through unchanged. Null List items are
left out, with a warning. Warnings go to stderr. Running it on its own output changes
nothing.`,
		Example: "  tandem inject -f examples/test.yaml --config examples/config.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInject(cmd, &f)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&f.file, "filename", "f", "", "manifest file to read, or - for stdin (required)")
	addConfigFlag(cmd, &f.configPath)
	flags.StringVarP(&f.output, "output", "o", "yaml", "output format: yaml or json")
	flags.StringVarP(&f.namespace, "namespace", "n", "default", "namespace of objects that do not name one")
	flags.StringToStringVar(&f.namespaceLabels, "namespace-labels", nil, "labels of that namespace, e.g. tandem.io/inject=proxy (namespace defaults and sidecars' namespaces selectors read them)")
	flags.BoolVar(&f.nativeSidecars, "native-sidecars", true, "the target cluster supports native sidecars (Kubernetes >= 1.29)")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func runInject(cmd *cobra.Command, f *injectFlags) error {
	if f.output != "yaml" && f.output != "json" {
		return fmt.Errorf("--output must be yaml or json, not %q", f.output)
	}
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return err
	}
	data, err := readInput(cmd.InOrStdin(), f.file)
	if err != nil {
		return err
	}
	docs, err := manifest.Read(data)
	if err != nil {
		return fmt.Errorf("%s: %w", f.file, err)
	}
	opts := inject.Options{NativeSidecars: f.nativeSidecars}
	stderr := cmd.ErrOrStderr()
	warn := func(msg string) { fmt.Fprintln(stderr, "warning:", msg) }
	err = manifest.TransformWarn(docs, func(pod []byte, namespace string) ([]byte, error) {
		if namespace == "" {
			namespace = f.namespace
		}
		ns := inject.Namespace{Name: namespace, Labels: f.namespaceLabels, LabelsKnown: true}
		res, err := inject.Inject(pod, ns, cfg, opts)
		if err != nil {
			return nil, err
		}
		for _, w := range res.Warnings {
			warn(w)
		}
		return inject.Apply(pod, res.Patch)
	}, warn)
	if err != nil {
		return fmt.Errorf("%s: %w", f.file, err)
	}
	if f.output == "json" {
		return manifest.WriteJSON(cmd.OutOrStdout(), docs)
	}
	return manifest.WriteYAML(cmd.OutOrStdout(), docs)
}

func readInput(stdin io.Reader, file string) ([]byte, error) {
	r := stdin
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r = fh
	}
	data, err := io.ReadAll(io.LimitReader(r, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("%s is larger than %d MiB", file, maxManifestSize>>20)
	}
	if strings.TrimSpace(string(data)) == "" {
		return nil, fmt.Errorf("%s is empty", file)
	}
	return data, nil
}
