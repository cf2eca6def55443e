//go:build tools

// Package tools records the helm command built by hack/k8s-binaries.sh so
// that `go mod tidy` keeps its dependencies in go.mod/go.sum.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
