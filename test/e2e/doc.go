// Package e2e holds Tandem's end-to-end tests: a real etcd, kube-apiserver and
// kube-controller-manager (package controlplane), tandem serve built from this tree
// (package tandemtest), and the API server calling it over TLS through
// MutatingWebhookConfigurations, exactly as in a cluster. Run with `make e2e`.
package e2e
