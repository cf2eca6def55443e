// Package node holds the end-to-end tests that need pods to run: a control plane and
// one real node (kubelet, containerd, runc, CNI bridge) inside a network namespace of
// their own, with Tandem behind a MutatingWebhookConfiguration and the demo images
// (test/images) imported into containerd. They check what happens after admission:
// that a native sidecar starts before the app and lets a Job complete, that injected
// probes pass, that volumes and init containers Tandem adds work.
//
// They need Linux and root (see docs/development.md); the package's TestMain says what
// is missing before anything starts.
package node
