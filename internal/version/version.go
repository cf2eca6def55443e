// Package version holds the build's version, stamped by the Makefile with -ldflags.
package version

import "runtime/debug"

// Version is set at build time: -X github.com/tandem-io/tandem/internal/version.Version=v1.2.3.
var Version = "dev"

// String describes the build: version, VCS revision when known, and Go version.
func String() string {
	s := Version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, setting := range info.Settings {
			if setting.Key == "vcs.revision" && len(setting.Value) >= 12 {
				s += " (" + setting.Value[:12] + ")"
			}
		}
		s += " " + info.GoVersion
	}
	return s
}
