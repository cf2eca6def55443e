//go:build tools

// Package tools records the containerd commands built by hack/k8s-binaries.sh
// so that `go mod tidy` keeps their dependencies in go.mod/go.sum.
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
