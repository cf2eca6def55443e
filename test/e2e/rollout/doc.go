// Package rollout holds the end-to-end tests of tandem rollout on a real node: a control
// plane and one node (kubelet, containerd, runc, CNI bridge) inside a network namespace
// of their own, Tandem behind a MutatingWebhookConfiguration serving a configuration
// file the tests rewrite between steps (tandem serve reloads it), and the demo images,
// the proxy under two tags. They check what a rollout does to running pods: sidecar
// images changed in place without restarting the app, resources resized, owners
// restarted, pods left alone, and a bad image put back after the first pod.
//
// They need Linux and root (see docs/development.md); the package's TestMain says what
// is missing before anything starts.
package rollout
