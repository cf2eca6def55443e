package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/tandem-io/tandem/test/e2e/isolation"
)

// iso is where the tests run, as `make demo` would: inside an isolation with a node
// when this machine can have one, nil otherwise.
var iso *isolation.Isolation

func TestMain(m *testing.M) {
	if mode := os.Getenv(terminalHelperEnv); mode != "" {
		os.Exit(terminalHelper(mode))
	}
	os.Exit(start(func(i *isolation.Isolation) int {
		iso = i
		return m.Run()
	}))
}

// TestDemo runs `make demo` to the point where it has shown the injected pods: with a
// node, the test Deployment's pod Ready with foo=bar and its proxy, and the demo app's
// sidecars at work (run fails otherwise); then everything is cleaned up.
func TestDemo(t *testing.T) {
	if err := run(t.Context(), iso, true); err != nil {
		t.Fatal(err)
	}
}

// Where the machine cannot have a node, `make demo` runs the control plane alone: the
// test Deployment's pod is still created, labelled foo=bar, and stays Pending.
func TestDemoWithoutANode(t *testing.T) {
	if err := run(t.Context(), nil, true); err != nil {
		t.Fatal(err)
	}
}

// Ctrl-C or SIGTERM stops the demo cleanly, exit status 0, even while it is still
// starting (a step then fails because the signal cancelled its context); a step that
// fails on its own still exits 1, even if a signal comes during the cleanup after it.
func TestAStopSignalIsACleanExit(t *testing.T) {
	failed := errors.New("kube-apiserver did not become ready")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()

	before := cutShort(ctx, failed) // the step failed before any signal
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	if got := exitCode(before); got != 1 {
		t.Errorf("a step that failed before the signal: exit status %d, want 1", got)
	}
	if got := exitCode(cutShort(ctx, failed)); got != 0 {
		t.Errorf("a step cut short by SIGTERM: exit status %d, want 0", got)
	}
	if got := exitCode(nil); got != 0 {
		t.Errorf("stopped once up (run returns nil): exit status %d, want 0", got)
	}
}
