// Command tandem injects sidecars into Kubernetes pods: as a mutating admission webhook
// (tandem serve) and offline (tandem inject). See the README and docs/.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/internal/version"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "tandem:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "tandem",
		Short:         "Automatic sidecar injection for Kubernetes",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newInjectCommand(), newValidateCommand(), newVersionCommand(), newServeCommand(), newExplainCommand(), newAuditCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "tandem", version.String())
		},
	}
}
