//go:build tools

// Package tools records the etcd command (the module root of
// go.etcd.io/etcd/server/v3 is its main package) so that `go mod tidy` keeps
// its dependencies in go.mod/go.sum.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
