//go:build linux

package isolation

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// sysctls are the values kubelet insists on: it writes them into /proc/sys unless they
// are already set, which would change the host. Files holding them are bind-mounted
// over the entries, in this mount namespace only.
var sysctls = map[string]string{
	"/proc/sys/vm/overcommit_memory": "1",
	"/proc/sys/kernel/panic":         "10",
	"/proc/sys/kernel/panic_on_oops": "1",
}

// scratchMounts are hidden behind a tmpfs of their own: kubelet hard-codes
// /var/log/pods and /var/log/containers, the shims and runc write under /run, the CNI
// library caches results in /var/lib/cni.
var scratchMounts = []string{"/run", "/var/log", "/var/lib/cni"}

// enter runs first in the child: it joins the cgroup root, then makes its private mounts.
func (iso *Isolation) enter() error {
	if err := joinCgroups(iso.Name); err != nil {
		return err
	}
	for _, dir := range scratchMounts {
		// /var/lib/cni may not exist on a host that never ran CNI; an empty directory
		// is the only trace this leaves.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=755"); err != nil {
			return fmt.Errorf("mounting a tmpfs on %s: %w", dir, err)
		}
	}
	values := filepath.Join(iso.Dir, "sysctl")
	if err := os.MkdirAll(values, 0o755); err != nil {
		return err
	}
	for entry, value := range sysctls {
		file := filepath.Join(values, filepath.Base(entry))
		if err := os.WriteFile(file, []byte(value+"\n"), 0o444); err != nil {
			return err
		}
		if err := syscall.Mount(file, entry, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mounting %s over %s: %w", file, entry, err)
		}
	}
	return nil
}
