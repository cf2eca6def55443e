// Package isolation runs a test program, or `make demo`, inside a network namespace and a
// private mount namespace of its own, with a cgroup root of its own, so that a real
// Kubernetes node (kubelet, containerd, runc, CNI) can run there without touching the
// host's network, mounts or cgroups.
//
// The program calls Reexec early in main or TestMain. In the original process Reexec
// creates the namespace (a veth pair with both ends inside, the node address
// NodeIP/24, and a default route that leads nowhere, so that no packet can leave),
// the cgroup root, and runs the same program again inside them; when that child ends,
// it kills whatever the child left in the cgroup root, removes the cgroups, the
// namespace and the scratch directory (kept when the child failed, for its logs), and
// returns the child's exit code. In the child, Reexec returns the Isolation it runs in
// after making its private mounts: tmpfs on /run and /var/log (kubelet and the shims
// write there), and files holding the values kubelet would otherwise write into the
// host's /proc/sys.
//
// Everything that talks to the cluster must run inside: client-go, kubectl and
// tandem serve reach the API server on the namespace's 127.0.0.1. Setting the network
// namespace of one goroutine's thread with setns would not do, because the Go runtime
// runs the HTTP client's goroutines on other threads.
//
// Preflight names everything the host lacks (root, Linux, ip, unshare, nsenter, veth,
// bridge, overlayfs, cgroups, runc) in one error, before anything is created.
package isolation
