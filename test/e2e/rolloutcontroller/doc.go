// Package rolloutcontroller holds the end-to-end tests of the rollout controller of
// `tandem serve --rollout`, installed as a platform team installs it: the Helm chart
// with rollout.enabled, Tandem's own image on a real node (kubelet, containerd, runc)
// inside a network namespace of its own, two replicas electing a leader through the
// audit's Lease. The tests change the configuration with `helm upgrade` and check what
// the controller does to running pods on its own: a new proxy image reaches every pod
// in place, paced, with one event each and the leader's metrics agreeing; a new leader
// finishes what a lost one started without redoing any pod; a bad image is put back on
// the first pod and halts the rollout until the configuration changes; owners are
// restarted for changes a running pod cannot take and for pods admitted while Tandem
// was down; a paused namespace and the global pause hold everything back.
//
// The tests need what test/e2e/node needs (Linux, root; docs/development.md). One
// install serves every scenario, one after the other, each in namespaces of its own.
package rolloutcontroller
