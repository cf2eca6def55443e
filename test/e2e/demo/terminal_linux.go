package main

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// takeTerminal makes the demo's process group the terminal's foreground group, so that
// Ctrl-C reaches the demo alone: `make demo` then exits with the demo's own status (0
// when stopped), where make, sent the SIGINT too, would die of it and exit 130 whatever
// its child did. Ctrl-Z is ignored: a demo stopped in the background would leave the
// shell waiting on make. Without a terminal it does nothing. restore gives the terminal
// back.
func takeTerminal() (restore func()) {
	fd := int(os.Stdin.Fd())
	previous, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil {
		return func() {}
	}
	// A background process group that sets the foreground gets SIGTTOU.
	signal.Ignore(syscall.SIGTTOU, syscall.SIGTSTP)
	if syscall.Setpgid(0, 0) != nil || unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, syscall.Getpgrp()) != nil {
		return func() {}
	}
	return func() { _ = unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, previous) }
}
