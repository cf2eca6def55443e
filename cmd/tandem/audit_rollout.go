package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/internal/audit"
	"github.com/tandem-io/tandem/internal/autorollout"
	"github.com/tandem-io/tandem/internal/rollout"
)

// addController fills in what the installed Tandem's rollout controller does with the
// report's owners, when Tandem in namespace runs one. The audit stands without it: what
// cannot be read is said on warn, and left out.
func addController(ctx context.Context, client kubernetes.Interface, namespace, auditNamespace string, report *audit.Report, warn io.Writer) {
	d, settings, err := installedController(ctx, client, namespace)
	if err != nil {
		fmt.Fprintf(warn, "tandem: cannot tell what the rollout controller does: %v\n", err)
		return
	}
	if d == nil {
		return
	}
	served, err := servedConfig(ctx, client, namespace)
	if err != nil {
		fmt.Fprintf(warn, "tandem: cannot tell what the rollout controller does: %v\n", err)
		return
	}
	var pausedBy string
	if d.Annotations[rollout.PauseKey] == rollout.PauseValue {
		pausedBy = "Deployment " + d.Name
	}
	outlook, err := autorollout.Preview(ctx, client, served, settings, auditNamespace, pausedBy)
	if err != nil {
		fmt.Fprintf(warn, "tandem: cannot tell what the rollout controller does: %v\n", err)
		return
	}
	report.Controller = &audit.Controller{Deployment: d.Namespace + "/" + d.Name, Settings: settings.String(),
		Stopped: outlook.Stopped, Next: outlook.Next}
	for i := range report.Owners {
		report.Owners[i].Controller = outlook.Owners[rollout.Ref(report.Owners[i].Ref)]
	}
}

// installedController finds the Deployment of namespace that runs `tandem serve
// --rollout`, and its settings; nil when there is none, or the namespace cannot be read
// (then Tandem is not installed there, or the user may not look).
func installedController(ctx context.Context, client kubernetes.Interface, namespace string) (*appsv1.Deployment, autorollout.Settings, error) {
	list, err := client.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, autorollout.Settings{}, nil
	}
	for i := range list.Items {
		d := &list.Items[i]
		for _, c := range d.Spec.Template.Spec.Containers {
			s, on, err := serveSettings(append(slices.Clone(c.Command), c.Args...))
			if err != nil {
				return nil, s, fmt.Errorf("the rollout flags of Deployment %s/%s: %w", namespace, d.Name, err)
			}
			if on {
				return d, s, nil
			}
		}
	}
	return nil, autorollout.Settings{}, nil
}

// serveSettings reads the rollout settings of a `tandem serve` command line with serve's
// own flags, and says whether it runs the rollout controller.
func serveSettings(argv []string) (autorollout.Settings, bool, error) {
	i := slices.Index(argv, "serve")
	if i < 0 {
		return autorollout.Settings{}, false, nil
	}
	flags := newServeCommand().Flags()
	if err := flags.Parse(argv[i+1:]); err != nil {
		return autorollout.Settings{}, false, nil // not Tandem's serve
	}
	var s autorollout.Settings
	on, _ := flags.GetBool("rollout")
	s.InPlace, _ = flags.GetBool("rollout-in-place")
	s.Restart, _ = flags.GetBool("rollout-restart")
	s.Missing, _ = flags.GetBool("rollout-missing")
	s.Paused, _ = flags.GetBool("rollout-paused")
	s.Interval, _ = flags.GetDuration("rollout-interval")
	mu, _ := flags.GetString("rollout-max-unavailable")
	var err error
	if s.MaxUnavailable, err = rollout.ParseMaxUnavailable("--rollout-max-unavailable", mu); err != nil && on {
		return s, false, err
	}
	return s, on, nil
}
