package main

import (
	"os"
	"testing"

	"github.com/tandem-io/tandem/test/e2e/isolation"
)

// iso is where the tests run, as `make demo` would: inside an isolation with a node
// when this machine can have one, nil otherwise.
var iso *isolation.Isolation

func TestMain(m *testing.M) {
	os.Exit(start(func(i *isolation.Isolation) int {
		iso = i
		return m.Run()
	}))
}

// TestDemo runs `make demo` to the point where it has shown the injected pods: with a
// node, the article's pod Ready with foo=bar and its proxy, and the demo app's sidecars
// at work (run fails otherwise); then everything is cleaned up.
func TestDemo(t *testing.T) {
	if err := run(t.Context(), iso, true); err != nil {
		t.Fatal(err)
	}
}

// Where the machine cannot have a node, `make demo` runs the control plane alone: the
// article's pod is still created, labelled foo=bar, and stays Pending.
func TestDemoWithoutANode(t *testing.T) {
	if err := run(t.Context(), nil, true); err != nil {
		t.Fatal(err)
	}
}
