//go:build !linux

package isolation

import (
	"errors"
	"fmt"
	"os"
)

// NodeIP and PodCIDR are the same everywhere; only Linux can use them.
const (
	NodeIP  = "10.77.0.1"
	PodCIDR = "10.88.0.0/16"
)

// Isolation is where a child runs; see the Linux implementation.
type Isolation struct{ Name, Dir string }

// CgroupRoot is kubelet's cgroupRoot.
func (iso *Isolation) CgroupRoot() string { return "/" + iso.Name }

var errNotLinux = errors.New("this host cannot run a Kubernetes node: it needs Linux (namespaces, cgroups)")

// Inside is false: there is no isolation without Linux.
func Inside() bool { return false }

// Preflight fails: a node needs Linux.
func Preflight() error { return errNotLinux }

// Main reports that a node needs Linux.
func Main(string, func(*Isolation) int) int {
	fmt.Fprintln(os.Stderr, "isolation:", errNotLinux)
	return 1
}

// Adopt needs Linux.
func (iso *Isolation) Adopt(int, string) error { return errNotLinux }

// KillOthers needs Linux.
func (iso *Isolation) KillOthers() error { return errNotLinux }

// Unmount needs Linux.
func Unmount(string) error { return errNotLinux }
