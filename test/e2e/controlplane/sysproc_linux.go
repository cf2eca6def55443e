package controlplane

import "syscall"

// sysProcAttr puts each component in its own process group, so Stop can
// signal it together with any children, and asks the kernel to SIGKILL it
// when the test binary dies (even by SIGKILL or a `go test -timeout` panic),
// so crashed runs leave no orphaned etcd or apiserver behind.
//
// Pdeathsig fires when the *thread* that started the child exits. The Go
// runtime only ends threads whose goroutine exits while locked with
// runtime.LockOSThread, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
