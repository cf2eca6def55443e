package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/internal/rollout"
)

// rolloutInterrupted is rollout's status when Ctrl-C stopped it, after the step under
// way: 128 + SIGINT, as a shell reports it.
const rolloutInterrupted = 130

var errRolloutFailed = errors.New("the rollout stopped at a failure; the pod is back as it was (see the report)")

type rolloutFlags struct {
	namespace       string
	allNamespaces   bool
	cluster         clusterFlags
	configPath      string
	tandemNamespace string
	output          string
	sel             rollout.Selection
	apply           bool
	maxUnavailable  string
	interval        time.Duration
	timeout         time.Duration
	parallel        int
	restart         bool
}

func newRolloutCommand() *cobra.Command {
	var f rolloutFlags
	cmd := &cobra.Command{
		Use:   "rollout [--apply] [-n NAMESPACE | -A] [-l SELECTOR] [--sidecar NAME] [--owner KIND/NAME] [--config FILE] [-o text|json|yaml]",
		Short: "Bring running pods to the current sidecar definitions: in place where Kubernetes allows it, else through their owner",
		Long: `Finds every running pod that asked for sidecars and lacks one or carries an older
definition, and plans what to do with it, grouped by owner, with a line per change:

  in-place  only a sidecar container's image or resources differ: a running pod takes
            a new image (the kubelet restarts that container alone) and new resources
            (through the resize subresource, restarting nothing)
  restart   anything else (env, mounts, a missing sidecar): the owner recreates the pod
            (Deployment, StatefulSet, DaemonSet: as kubectl rollout restart does; a
            ReplicaSet or ReplicationController alone: the Eviction API, honouring
            PodDisruptionBudgets)
  manual    what Tandem must not touch (bare pods, Jobs' and CronJobs' pods, whatever
            the change) or a restart it must not do (OnDelete owners, owners of other
            kinds, new pods the configuration would deny), with the reason
  paused    the namespace or the owner carries tandem.io/rollout: paused

Without --apply it changes nothing. With --apply it changes the in-place pods owner by
owner, --max-unavailable at a time, each batch Ready again before the next; a pod that
fails is put back on its previous definition and the rollout stops there. Then it
restarts the owners that need it, one at a time (--parallel), waiting for each. Ctrl-C
stops after the step under way. Progress goes to stderr, the report to stdout.

The configuration is --config FILE, or by default the one the installed Tandem serves:
its ConfigMap in --tandem-namespace.

Exit status: 0 when the plan is printed, or all of it applied; 1 when a step failed;
2 on bad flags, configuration or an API error; 130 when interrupted. See
docs/operations.md.`,
		Example: `  # What would change, cluster-wide, against the installed configuration
  tandem rollout

  # Canary: one Deployment first, then the namespace
  tandem rollout --apply -n shop --owner deployment/web
  tandem rollout --apply -n shop

  # Only the proxy, a quarter of each owner's pods at a time, only in place
  tandem rollout --apply -A --sidecar proxy --max-unavailable 25% --restart=false`,
		Args: noArguments("rollout"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRollout(cmd, &f)
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return auditFailure(err) })
	flags := cmd.Flags()
	flags.BoolVar(&f.apply, "apply", false, "carry out the plan (default: print it, changing nothing)")
	flags.StringVarP(&f.namespace, "namespace", "n", "", "this namespace only (default: all namespaces)")
	flags.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "every namespace (the default)")
	flags.StringVarP(&f.sel.Labels, "selector", "l", "", "only the pods with these labels (app=web,tier!=db)")
	flags.StringVar(&f.sel.Sidecar, "sidecar", "", "only the changes of this sidecar")
	flags.StringVar(&f.sel.Owner, "owner", "", "only the pods of this owner, KIND/NAME (deployment/web)")
	f.cluster.register(flags, kubectlDefault)
	flags.StringVar(&f.configPath, "config", "", "configuration file (default: the one the installed Tandem serves, from its ConfigMap)")
	flags.StringVar(&f.tandemNamespace, "tandem-namespace", "tandem-system", "the namespace Tandem is installed in, to read its configuration from")
	addOutputFlag(flags, &f.output, rollout.Formats)
	flags.StringVar(&f.maxUnavailable, "max-unavailable", "1", "pods of one owner changed in place at once: a count, or a percentage of its pods")
	flags.DurationVar(&f.interval, "interval", 0, "pause between two batches of one owner")
	flags.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long each batch, rollback or owner's rollout may take without progress")
	flags.IntVar(&f.parallel, "parallel", 1, "owners worked on at once")
	flags.BoolVar(&f.restart, "restart", true, "restart the owners of pods a running pod cannot take the changes of (--restart=false: in place only)")
	return cmd
}

func runRollout(cmd *cobra.Command, f *rolloutFlags) error {
	opts, err := f.check()
	if err != nil {
		return auditFailure(err)
	}
	rc, err := f.cluster.reporting()
	if err != nil {
		return auditFailure(err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return auditFailure(err)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first Ctrl-C lets the step under way finish; a second one ends tandem at once.
	go func() { <-ctx.Done(); stop() }()
	cfg, err := rolloutConfig(ctx, client, f.configPath, f.tandemNamespace)
	if err != nil {
		return auditFailure(err)
	}
	f.sel.Namespace = f.namespace
	plan, err := rollout.Gather(ctx, client, cfg, f.sel)
	if err != nil {
		return auditFailure(err)
	}
	var applyErr error
	if f.apply {
		opts.Progress = cmd.ErrOrStderr()
		applyErr = rollout.Apply(ctx, client, plan, opts)
	}
	if err := rollout.Write(cmd.OutOrStdout(), f.output, plan); err != nil {
		return auditFailure(err)
	}
	switch {
	case errors.Is(applyErr, rollout.ErrFailed):
		return errRolloutFailed
	case errors.Is(applyErr, context.Canceled):
		return &exitStatus{code: rolloutInterrupted, err: errors.New("interrupted: stopped after the step under way (see the report)")}
	case applyErr != nil:
		return auditFailure(applyErr)
	}
	return nil
}

// check validates the flags, and returns the apply options they say.
func (f *rolloutFlags) check() (rollout.Options, error) {
	if err := checkOutput(f.output, rollout.Formats); err != nil {
		return rollout.Options{}, err
	}
	if f.allNamespaces && f.namespace != "" {
		return rollout.Options{}, errors.New("--namespace and --all-namespaces exclude each other")
	}
	if err := rollout.ParseOwner(f.sel.Owner); err != nil {
		return rollout.Options{}, err
	}
	mu, err := rollout.ParseMaxUnavailable("--max-unavailable", f.maxUnavailable)
	if err != nil {
		return rollout.Options{}, err
	}
	switch {
	case f.parallel < 1:
		return rollout.Options{}, fmt.Errorf("--parallel must be at least 1, not %d", f.parallel)
	case f.timeout <= 0:
		return rollout.Options{}, fmt.Errorf("--timeout must be positive, not %s", f.timeout)
	case f.interval < 0:
		return rollout.Options{}, fmt.Errorf("--interval must not be negative, not %s", f.interval)
	}
	return rollout.Options{MaxUnavailable: mu, Interval: f.interval, Timeout: f.timeout, Parallel: f.parallel, Restart: f.restart}, nil
}
