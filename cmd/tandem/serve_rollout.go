package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/internal/autorollout"
	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/rollout"
)

// serveRolloutFlags are tandem serve's --rollout flags.
type serveRolloutFlags struct {
	enabled, inPlace, restart, missing, paused bool
	maxUnavailable                             string
	interval, timeout                          time.Duration
}

func (f *serveRolloutFlags) register(flags *pflag.FlagSet) {
	flags.BoolVar(&f.enabled, "rollout", false, "keep running pods current: on the replica holding --audit-lease, change outdated pods in place, and restart owners when allowed (docs/operations.md)")
	flags.BoolVar(&f.inPlace, "rollout-in-place", true, "with --rollout: change pods in place (a sidecar's image; its resources through pods/resize)")
	flags.BoolVar(&f.restart, "rollout-restart", false, "with --rollout: restart the owners of pods whose changes need a new pod (env, mounts, …)")
	flags.BoolVar(&f.missing, "rollout-missing", false, "with --rollout: restart the owners of pods admitted without sidecars they asked for")
	flags.StringVar(&f.maxUnavailable, "rollout-max-unavailable", "1", "with --rollout: pods changed in place at once across the cluster (one owner at a time): a count, or a percentage of that owner's pods")
	flags.DurationVar(&f.interval, "rollout-interval", 30*time.Second, "with --rollout: the pause between two steps (a batch of pods, an owner restarted), and how often to look for work")
	flags.DurationVar(&f.timeout, "rollout-timeout", 5*time.Minute, "with --rollout: how long a batch, rollback or owner's rollout may take without progress")
	flags.BoolVar(&f.paused, "rollout-paused", false, "with --rollout: change nothing (the metrics still count what is to do)")
}

// check refuses a --rollout-* flag given without --rollout: it would do nothing.
func (f *serveRolloutFlags) check(flags *pflag.FlagSet) error {
	if f.enabled {
		return nil
	}
	var stray error
	flags.Visit(func(fl *pflag.Flag) {
		if stray == nil && strings.HasPrefix(fl.Name, "rollout-") {
			stray = fmt.Errorf("--%s does nothing without --rollout", fl.Name)
		}
	})
	return stray
}

// controller makes the rollout controller behind --rollout; nil when it is off.
func (f *serveRolloutFlags) controller(cluster *rest.Config, leaseNamespace string, current func() (*config.Config, error), log *slog.Logger) (*autorollout.Controller, error) {
	if !f.enabled {
		return nil, nil
	}
	mu, err := rollout.ParseMaxUnavailable("--rollout-max-unavailable", f.maxUnavailable)
	if err != nil {
		return nil, err
	}
	if f.interval <= 0 || f.timeout <= 0 {
		return nil, fmt.Errorf("--rollout-interval and --rollout-timeout must be positive, not %s and %s", f.interval, f.timeout)
	}
	// The pace of audit and rollout, which read many pods and owners in a row.
	paced := rest.CopyConfig(cluster)
	paced.QPS, paced.Burst = auditQPS, auditBurst
	client, err := kubernetes.NewForConfig(paced)
	if err != nil {
		return nil, err
	}
	// In a pod the host name is the pod's: its owner, Tandem's Deployment, may carry the
	// pause of the whole rollout.
	self, _ := os.Hostname()
	return autorollout.New(autorollout.Options{
		Client: client, Config: current, Log: log,
		Settings: autorollout.Settings{InPlace: f.inPlace, Restart: f.restart, Missing: f.missing, Paused: f.paused,
			MaxUnavailable: mu, Interval: f.interval},
		Timeout:       f.timeout,
		SelfNamespace: leaseNamespace, SelfName: self,
	})
}
