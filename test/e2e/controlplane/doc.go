// Package controlplane runs a real, minimal Kubernetes control plane for
// Tandem's end-to-end tests and for `make demo`.
//
// It starts etcd, kube-apiserver and kube-controller-manager as local
// processes listening on 127.0.0.1 only. Deployments really produce
// ReplicaSets and Pods (so the mutating admission webhook sees genuine pod
// CREATE requests), but without a node the Pods stay Pending.
//
// StartNode adds one node: containerd (with runc and the CNI bridge plugin),
// kubelet and kube-scheduler, so that pods run. It must be called from inside
// a test/e2e/isolation, whose network namespace holds the node's address and
// whose cgroup root holds the pods; see docs/development.md.
//
// Why not envtest or a fake client? Sidecar injection happens inside the API
// server's admission chain, and Pods are created by the ReplicaSet controller
// on behalf of the user; only a real kube-apiserver plus
// kube-controller-manager reproduces that flow, including ServiceAccount
// admission and the `default` ServiceAccount the controller manager creates.
//
// The package never builds anything. The binaries come from
// hack/k8s-binaries.sh (`make k8s-binaries`), which compiles pinned upstream
// versions once and caches them outside the work tree; see BinDir. Images
// are docker-archive tarballs the caller builds (test/images).
//
// Tests normally call StartForTest, which stops everything at the end of the
// test and prints the tail of each component's log if the test failed.
// Components run in their own process groups and, on Linux, are killed by the
// kernel if the test binary dies, so no orphans survive a crashed test run.
package controlplane
