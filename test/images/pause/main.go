//go:build unix

// Command pause stands in for registry.k8s.io/pause, the binary of a pod's sandbox
// container: it holds the pod's namespaces open by doing nothing. As PID 1 of a pod that
// shares its process namespace it also inherits orphans, so it reaps every child that
// exits, lest zombies pile up. SIGTERM or SIGINT end it with status 0.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT)
	os.Exit(run(signals))
}

// run waits for signals until told to stop. SIGCHLD is not queued, one may stand for
// many exited children, so each reaps all there are.
func run(signals <-chan os.Signal) int {
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			return 0
		}
		reap()
	}
	return 0
}

// reap collects every exited child without blocking for those still running.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
