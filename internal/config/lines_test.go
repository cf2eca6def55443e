package config

import (
	"slices"
	"testing"
)

// TestSplitPath covers the paths error messages are built from, including the ones a
// key of the user's makes odd: brackets left open, empty or at the end.
func TestSplitPath(t *testing.T) {
	for path, want := range map[string][]string{
		"sidecars[1].containers[0].image": {"sidecars", "[1]", "containers", "[0]", "image"},
		"a[1].b[c.d]":                     {"a", "[1]", "b", "c.d"},
		"0[":                              {"0", ""},
		"0[:":                             {"0", ":"},
		"a[bc":                            {"a", "bc"},
		"a[]":                             {"a", ""},
		"[":                               {""},
		"":                                nil,
	} {
		if got := splitPath(path); !slices.Equal(got, want) {
			t.Errorf("splitPath(%q) = %q, want %q", path, got, want)
		}
	}
}
