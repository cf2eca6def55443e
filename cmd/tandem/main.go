// Command tandem injects sidecars into Kubernetes pods: as a mutating admission webhook
// (tandem serve), offline (tandem inject), or compiled to admission policy (tandem
// compile). See the README and docs/.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/internal/version"
)

func main() {
	root := newRootCommand()
	os.Exit(report(root.ErrOrStderr(), root.Execute()))
}

// report prints err, if any, the one way every command's errors are printed, and returns
// the exit status: 0 without an error, the command's own with an exitStatus, else 1.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "tandem:", err)
	var status *exitStatus
	if errors.As(err, &status) {
		return status.code
	}
	return 1
}

// exitStatus ends tandem with another status than 1: explain and audit keep 1 for "some
// pod lacks its sidecars" and 2 for "cannot say".
type exitStatus struct {
	code int
	err  error
}

func (e *exitStatus) Error() string { return e.err.Error() }
func (e *exitStatus) Unwrap() error { return e.err }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "tandem",
		Short:         "Automatic sidecar injection for Kubernetes",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newInjectCommand(), newValidateCommand(), newVersionCommand(), newServeCommand(), newExplainCommand(), newAuditCommand(), newCompileCommand(), newCertificatesCommand(), newRolloutCommand())
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
