package controlplane

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// startTimeout bounds StartForTest; Start itself has per-component budgets.
const startTimeout = 3 * time.Minute

// StartForTest starts a control plane for t and fails t if that is not
// possible (missing binaries included: e2e tests must not silently skip).
// Unless opts says otherwise, logs go to t.TempDir() so they outlive Stop,
// and progress goes to t.Output(). At the end of the test the log tails are
// printed if t failed, then the control plane is stopped.
func StartForTest(t testing.TB, opts Options) *ControlPlane {
	t.Helper()
	if opts.LogDir == "" {
		opts.LogDir = t.TempDir()
	}
	if opts.Out == nil {
		opts.Out = t.Output()
	}
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	cp, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	// One cleanup for both, so the dump always precedes the Stop.
	t.Cleanup(func() {
		dumpLogs(t, cp)
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping control plane: %v", err)
		}
	})
	return cp
}

// DumpLogsOnFailure registers a cleanup that prints the tail of every
// component log if t failed. Cleanups run last-in first-out, so call it
// after registering cp.Stop, or pass an Options.LogDir that outlives Stop.
// StartForTest already does this.
func DumpLogsOnFailure(t testing.TB, cp *ControlPlane) {
	t.Cleanup(func() { dumpLogs(t, cp) })
}

func dumpLogs(t testing.TB, cp *ControlPlane) {
	if !t.Failed() {
		return
	}
	logs, _ := filepath.Glob(filepath.Join(cp.LogDir(), "*.log"))
	for _, path := range logs {
		t.Logf("--- tail of %s ---\n%s", path, tailFile(path, tailLines))
	}
}
