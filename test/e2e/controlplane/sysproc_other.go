//go:build unix && !linux

package controlplane

import "syscall"

// sysProcAttr puts each component in its own process group so Stop can
// signal it together with any children. Only Linux offers Pdeathsig, so on
// other systems a crashed test binary can leave components running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
