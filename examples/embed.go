// Package examples holds the example configuration and workloads. The configuration is
// embedded in the binary as Tandem's default, so `tandem inject` and `make demo` work
// before a platform team has written its own.
package examples

import _ "embed"

// Config is examples/config.yaml.
//
//go:embed config.yaml
var Config []byte
