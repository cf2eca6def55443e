//go:build unix

package main

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Exited children must disappear once pause handles SIGCHLD, and SIGTERM must end it with
// 0. The test binary stands in for PID 1; the children are its only ones.
func TestReapsChildrenAndExitsOnSIGTERM(t *testing.T) {
	var children []*exec.Cmd
	for range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		children = append(children, cmd)
	}
	signals := make(chan os.Signal)
	done := make(chan int)
	go func() { done <- run(signals) }()
	// A child that has not exited yet is not reaped by this SIGCHLD; the next one gets it.
	for deadline := time.Now().Add(30 * time.Second); !allGone(children); {
		if time.Now().After(deadline) {
			t.Fatal("children still exist (running or zombies) after 30s of SIGCHLDs")
		}
		signals <- syscall.SIGCHLD
		time.Sleep(10 * time.Millisecond)
	}
	signals <- syscall.SIGTERM
	if code := <-done; code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	for _, cmd := range children {
		if err := cmd.Wait(); !errors.Is(err, syscall.ECHILD) {
			t.Errorf("child %d: Wait = %v, want ECHILD (already reaped)", cmd.Process.Pid, err)
		}
	}
}

// allGone reports whether no child exists any more, not even as a zombie.
func allGone(children []*exec.Cmd) bool {
	for _, cmd := range children {
		if err := syscall.Kill(cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
			return false
		}
	}
	return true
}

func TestSIGINTEndsWithZero(t *testing.T) {
	signals := make(chan os.Signal, 1)
	signals <- syscall.SIGINT
	if code := run(signals); code != 0 {
		t.Errorf("exit %d after SIGINT, want 0", code)
	}
}
