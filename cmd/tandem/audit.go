package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tandem-io/tandem/internal/audit"
	"github.com/tandem-io/tandem/internal/version"
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

type auditFlags struct {
	namespace     string
	allNamespaces bool
	kubeconfig    string
	configPath    string
	output        string
}

func newAuditCommand() *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "audit [-n NAMESPACE | -A] [--config FILE] [-o text|json]",
		Short: "List running pods that lack sidecars they asked for, or carry outdated ones, by what to restart",
		Long: `Reads the metadata of the cluster's pods (of one namespace with -n; of all by default)
and lists those that asked for sidecars but do not carry them (admitted while Tandem was
down, or before it was installed) or carry a definition that has changed since, grouped
by the workload that owns them (a Deployment, not its ReplicaSet; a CronJob, not its
Job), each with the command that recreates its pods. Finished pods and pods being
deleted are left out.

Exit status: 0 when every pod carries the current definition of every sidecar it asked
for, 1 when some do not, 2 when audit cannot say (bad flags, no cluster, an unreadable
configuration, an API error). See docs/operations.md.`,
		Example: `  tandem audit --config /etc/tandem/config.yaml
  tandem audit -n shop -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return auditFailure(cmd, fmt.Errorf("audit takes no arguments, got %q", args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAudit(cmd, &f)
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return auditFailure(c, err) })
	flags := cmd.Flags()
	flags.StringVarP(&f.namespace, "namespace", "n", "", "audit this namespace only (default: all namespaces)")
	flags.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "audit every namespace (the default)")
	flags.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG, else ~/.kube/config, else the pod's service account)")
	addConfigFlag(cmd, &f.configPath)
	flags.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	return cmd
}

func runAudit(cmd *cobra.Command, f *auditFlags) error {
	if f.output != "text" && f.output != "json" {
		return auditFailure(cmd, fmt.Errorf("--output must be text or json, not %q", f.output))
	}
	if f.allNamespaces && f.namespace != "" {
		return auditFailure(cmd, errors.New("--namespace and --all-namespaces exclude each other"))
	}
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return auditFailure(cmd, err)
	}
	rc, err := auditCluster(f.kubeconfig)
	if err != nil {
		return auditFailure(cmd, err)
	}
	client, err := metadata.NewForConfig(rc)
	if err != nil {
		return auditFailure(cmd, err)
	}
	report, err := audit.Scan(cmd.Context(), client, cfg, f.namespace)
	if err != nil {
		return auditFailure(cmd, err)
	}
	write := audit.WriteText
	if f.output == "json" {
		write = audit.WriteJSON
	}
	if err := write(cmd.OutOrStdout(), report); err != nil {
		return auditFailure(cmd, err)
	}
	if !report.Clean() {
		return errAuditFindings
	}
	return nil
}

// auditCluster finds the cluster as kubectl does: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config, else the pod's service account. Unlike tandem serve (see
// webhook.ClusterConfig), audit is run by someone asking about the cluster their shell
// points at.
func auditCluster(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, errors.New("no cluster to audit: give --kubeconfig, set $KUBECONFIG, write ~/.kube/config or run in a pod")
		}
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	rc.UserAgent = "tandem/" + version.Version
	rc.QPS, rc.Burst = auditQPS, auditBurst
	return rc, nil
}

// auditFailure reports err and has tandem exit with auditExitError.
func auditFailure(cmd *cobra.Command, err error) error {
	fmt.Fprintln(cmd.ErrOrStderr(), "tandem audit:", err)
	return &exitStatus{code: auditExitError, err: err}
}
