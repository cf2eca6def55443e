package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/internal/audit"
)

// auditExitError is audit's status when it cannot say (bad flags, no cluster, an
// unreadable configuration, an API error): a CI job must tell that from "some pods need
// a restart", which is 1, main's status for any error.
const auditExitError = 2

var errAuditFindings = errors.New("some pods lack sidecars they asked for or carry outdated ones; restart what the audit lists")

// The client's request rate: client-go's default (5 per second) would make the audit of
// a large cluster wait on itself, one owner lookup at a time.
const (
	auditQPS   = 50
	auditBurst = 100
)

// reporting is the client configuration of a verb that walks a cluster's pods and their
// owners (audit, rollout), at the request rate above.
func (c *clusterFlags) reporting() (*rest.Config, error) {
	rc, _, err := c.load()
	if err != nil {
		return nil, err
	}
	rc.QPS, rc.Burst = auditQPS, auditBurst
	return rc, nil
}

type auditFlags struct {
	namespace       string
	allNamespaces   bool
	cluster         clusterFlags
	configPath      string
	output          string
	tandemNamespace string
}

func newAuditCommand() *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "audit --config FILE [-n NAMESPACE | -A] [--kubeconfig FILE] [--context NAME] [-o text|json|yaml]",
		Short: "List running pods that lack sidecars they asked for, or carry outdated ones, by what to restart",
		Long: `Reads the metadata of the cluster's pods (of one namespace with -n; of all by default)
and lists those that asked for sidecars but do not carry them (admitted while Tandem was
down, or before it was installed) or carry a definition that has changed since, grouped
by the workload that owns them (a Deployment, not its ReplicaSet; a CronJob, not its
Job), each with the command that recreates its pods. Finished pods and pods being
deleted are left out. When the Tandem installed in --tandem-namespace runs the rollout
controller (tandem serve --rollout), each owner says what the controller does with it,
and the last line what it does next, or why it is stopped.

Exit status: 0 when every pod carries the current definition of every sidecar it asked
for, 1 when some do not, 2 when audit cannot say (bad flags, no cluster, an unreadable
configuration, an API error). See docs/operations.md.`,
		Example: `  tandem audit --config /etc/tandem/config.yaml
  tandem audit --config config.yaml -n shop -o json`,
		Args: noArguments("audit"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAudit(cmd, &f)
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return auditFailure(err) })
	flags := cmd.Flags()
	flags.StringVarP(&f.namespace, "namespace", "n", "", "audit this namespace only (default: all namespaces)")
	flags.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "audit every namespace (the default)")
	f.cluster.register(flags, kubectlDefault)
	addClusterConfigFlag(flags, &f.configPath, " to audit against")
	addOutputFlag(flags, &f.output, audit.Formats)
	flags.StringVar(&f.tandemNamespace, "tandem-namespace", "tandem-system", "the namespace Tandem is installed in: when it runs the rollout controller, the report says what the controller does with each owner, and next")
	return cmd
}

func runAudit(cmd *cobra.Command, f *auditFlags) error {
	if err := checkOutput(f.output, audit.Formats); err != nil {
		return auditFailure(err)
	}
	if f.allNamespaces && f.namespace != "" {
		return auditFailure(errors.New("--namespace and --all-namespaces exclude each other"))
	}
	if err := requireConfig("tandem audit", f.configPath); err != nil {
		return auditFailure(err)
	}
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return auditFailure(err)
	}
	rc, err := f.cluster.reporting()
	if err != nil {
		return auditFailure(err)
	}
	client, err := metadata.NewForConfig(rc)
	if err != nil {
		return auditFailure(err)
	}
	report, err := audit.Scan(cmd.Context(), client, cfg, f.namespace)
	if err != nil {
		return auditFailure(err)
	}
	typed, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return auditFailure(err)
	}
	addController(cmd.Context(), typed, f.tandemNamespace, f.namespace, &report, cmd.ErrOrStderr())
	if err := audit.Write(cmd.OutOrStdout(), f.output, report); err != nil {
		return auditFailure(err)
	}
	if !report.Clean() {
		return errAuditFindings
	}
	return nil
}

// auditFailure has tandem exit with auditExitError.
func auditFailure(err error) error {
	return &exitStatus{code: auditExitError, err: err}
}

// noArguments refuses arguments to a verb that reports on a cluster (audit, rollout), with
// its exit status for a command that cannot say: a CI job tells it from findings.
func noArguments(verb string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return auditFailure(fmt.Errorf("%s takes no arguments, got %q", verb, args))
		}
		return nil
	}
}
