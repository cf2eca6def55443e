package controlplane

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// pollInterval is short because each startup step takes seconds at most and
// Start's latency adds up in every e2e test.
const pollInterval = 100 * time.Millisecond

// tailLines is how much of a component log goes into errors and dumps.
const tailLines = 40

// waitFor polls check until it succeeds, timeout passes or ctx ends. It
// fails fast if any component exits meanwhile. Errors name what was awaited,
// the last check error and the tail of the relevant component's log, so a
// CI failure is diagnosable from the test output alone.
func (cp *ControlPlane) waitFor(ctx context.Context, p *process, timeout time.Duration, what string, check func(context.Context) error) error {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	var last error
	for {
		for _, proc := range cp.procs {
			if done, err := proc.exited(); done {
				return fmt.Errorf("controlplane: %s exited (%v) while waiting for %s\n--- tail of %s ---\n%s",
					proc.name, err, what, proc.logPath, proc.tail(tailLines))
			}
		}
		if last = check(ctx); last == nil {
			cp.logf("%s ready after %s", what, time.Since(began).Round(time.Millisecond))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("controlplane: %s not ready after %s: %w (last error: %v)\n--- tail of %s ---\n%s",
				what, time.Since(began).Round(time.Millisecond), ctx.Err(), last, p.logPath, p.tail(tailLines))
		case <-ticker.C:
		}
	}
}

// WaitForDefaultServiceAccount blocks until the controller manager has
// created the `default` ServiceAccount in namespace. Until then the
// ServiceAccount admission plugin rejects Pods there, so tests that create
// a namespace should call this before creating workloads in it.
func (cp *ControlPlane) WaitForDefaultServiceAccount(ctx context.Context, namespace string) error {
	var kcm *process
	for _, p := range cp.procs {
		if p.name == "kube-controller-manager" {
			kcm = p
		}
	}
	if kcm == nil {
		return errors.New("controlplane: kube-controller-manager is not running")
	}
	client, err := kubernetes.NewForConfig(cp.RESTConfig)
	if err != nil {
		return err
	}
	return cp.waitFor(ctx, kcm, kcmTimeout, "ServiceAccount "+namespace+"/default", func(ctx context.Context) error {
		_, err := client.CoreV1().ServiceAccounts(namespace).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}
