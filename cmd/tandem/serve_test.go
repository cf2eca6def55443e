package main

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestServeRaisesTheGCTargetUnlessGOGCIsSet(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	if v, ok := os.LookupEnv("GOGC"); ok {
		t.Cleanup(func() { os.Setenv("GOGC", v) })
	}
	os.Unsetenv("GOGC")
	if got := tuneGC(); got != defaultGCPercent || debug.SetGCPercent(100) != defaultGCPercent {
		t.Fatalf("without GOGC: tuneGC says %d; want %d in effect", got, defaultGCPercent)
	}

	// The operator's GOGC is what the runtime read at start; tuneGC must leave it alone.
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150)
	if got := tuneGC(); got != 150 || debug.SetGCPercent(150) != 150 {
		t.Fatalf("with GOGC=150: tuneGC says %d and changed the percent", got)
	}
}
