// Package install tests Tandem installed as a platform team installs it: from its own
// image, as pods on a real node, by the Helm chart (deploy/charts/tandem) and by
// deploy/install.yaml. It checks what the install promises: the replicas agree on one
// CA from a cold start, pods are injected across a lost replica and certificate
// rotations, the RBAC is what docs/install.md says (the ServiceAccount may change only
// the caBundle of its webhook configuration, and still repairs it), a configuration
// upgrade needs no restart, Tandem scaled to zero blocks only the pods that need a
// mandatory sidecar, and uninstalling leaves no webhook configuration behind.
//
// The tests need what test/e2e/node needs (Linux, root; docs/development.md) and run
// one after the other: each installs Tandem cluster-wide.
package install
