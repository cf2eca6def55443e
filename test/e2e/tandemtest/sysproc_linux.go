package tandemtest

import "syscall"

// sysProcAttr kills the server with the test binary, so a crashed test leaves no orphan.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
