package main

import (
	"testing"
)

// TestDemo runs `make demo` to the point where it has shown the injected pod: the
// control plane starts, Tandem is registered, and the article's Deployment produces a pod
// labelled foo=bar (run fails otherwise), then everything is cleaned up.
func TestDemo(t *testing.T) {
	if err := run(t.Context(), true); err != nil {
		t.Fatal(err)
	}
}
