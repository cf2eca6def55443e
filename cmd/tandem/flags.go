package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// checkOutput is every command's one way to refuse an -o it does not write.
func checkOutput(value string, formats []string) error {
	if slices.Contains(formats, value) {
		return nil
	}
	return fmt.Errorf("--output must be one of %s, not %q", strings.Join(formats, ", "), value)
}

// addOutputFlag registers -o with formats, the first the default.
func addOutputFlag(flags *pflag.FlagSet, value *string, formats []string) {
	flags.StringVarP(value, "output", "o", formats[0], "output format: "+strings.Join(formats, ", "))
}

// nativeSidecarModes are the values of --native-sidecars, the same on every command.
var nativeSidecarModes = []string{"auto", "true", "false"}

// addNativeSidecarsFlag registers --native-sidecars as serve, inject and explain all take
// it: auto, true or false, and a bare --native-sidecars means true. auto says what a
// cluster's version decides; without a cluster it is true (Kubernetes >= 1.29).
func addNativeSidecarsFlag(flags *pflag.FlagSet, value *string, auto string) {
	flags.StringVar(value, "native-sidecars", "auto", "inject native sidecars (init containers with restartPolicy Always): "+auto+", true or false")
	flags.Lookup("native-sidecars").NoOptDefVal = "true"
}

// offlineNativeSidecars resolves --native-sidecars without a cluster to ask: auto is true,
// as tandem serve decides without a cluster.
func offlineNativeSidecars(mode string) (bool, error) {
	if err := checkNativeSidecars(mode); err != nil {
		return false, err
	}
	return mode != "false", nil
}

func checkNativeSidecars(mode string) error {
	if slices.Contains(nativeSidecarModes, mode) {
		return nil
	}
	return fmt.Errorf("--native-sidecars must be one of %s, not %q", strings.Join(nativeSidecarModes, ", "), mode)
}
