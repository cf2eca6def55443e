//go:build linux

package isolation

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// overlayfsMagic is statfs's f_type of an overlayfs (linux/magic.h).
const overlayfsMagic = 0x794c7630

// commands are the host tools a node needs: ip (iproute2) makes the namespace, unshare
// and nsenter (util-linux) enter it, mount (util-linux) is what kubelet mounts volumes
// with, runc runs containers, iptables-restore is how kube-proxy programs Services. The
// Debian packages are named after them.
var commands = map[string]string{
	"ip": "iproute2", "unshare": "util-linux", "nsenter": "util-linux", "mount": "mount", "runc": "runc",
	"iptables-restore": "iptables",
}

// Preflight reports, in one error, everything this host lacks to run a node; nil means
// it can. It creates and deletes a throwaway namespace to try veth and bridge links.
func Preflight() error {
	var problems []string
	if os.Geteuid() != 0 {
		problems = append(problems, "must run as root (namespaces, mounts, cgroups)")
	}
	for cmd, pkg := range commands {
		if _, err := exec.LookPath(cmd); err != nil {
			problems = append(problems, fmt.Sprintf("%s not found on PATH (Debian package %s)", cmd, pkg))
		}
	}
	if data, err := os.ReadFile("/proc/filesystems"); err != nil || !strings.Contains(string(data), "\toverlay\n") {
		problems = append(problems, "the kernel has no overlay filesystem (modprobe overlay)")
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(os.TempDir(), &fs); err == nil && fs.Type == overlayfsMagic {
		problems = append(problems, fmt.Sprintf("%s is on overlayfs, where containerd's overlay snapshotter cannot work: set TMPDIR to another filesystem", os.TempDir()))
	}
	if _, err := hierarchies(); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 { // the link test needs root and ip
		if err := tryLinks(fmt.Sprintf("tandem-preflight-%d", os.Getpid())); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return errors.New("this host cannot run a Kubernetes node: " + strings.Join(problems, "; "))
	}
	return nil
}

// tryLinks creates the kinds of links a node needs (veth for the node address, bridge
// for the pods) in a namespace of its own, then deletes it.
func tryLinks(name string) error {
	if err := ip("netns", "add", name); err != nil {
		return err
	}
	defer deleteNetns(name)
	if err := ip("-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1"); err != nil {
		return fmt.Errorf("no veth links (modprobe veth): %w", err)
	}
	if err := ip("-n", name, "link", "add", "br0", "type", "bridge"); err != nil {
		return fmt.Errorf("no bridge links (modprobe bridge): %w", err)
	}
	return nil
}
