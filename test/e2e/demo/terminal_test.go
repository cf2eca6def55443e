//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// terminalHelperEnv makes the test binary stand in for bin/demo under make: it takes the
// terminal (or not, with "plain"), says it is ready, and exits 0 on Ctrl-C, as the demo
// does once it is up.
const terminalHelperEnv = "TANDEM_DEMO_TERMINAL_HELPER"

func terminalHelper(mode string) int {
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt)
	restore := func() {}
	if mode == "take" {
		restore = takeTerminal()
	}
	fmt.Println("ready")
	<-interrupted
	restore()
	return 0
}

// Ctrl-C in the terminal of `make demo` ends it with status 0: the demo takes the
// terminal's foreground, so make is not sent the SIGINT that would make it exit 130
// whatever the demo returns. Without takeTerminal, the same make does exit non-zero.
func TestCtrlCEndsMakeDemoWithStatusZero(t *testing.T) {
	for mode, wantZero := range map[string]bool{"take": true, "plain": false} {
		t.Run(mode, func(t *testing.T) {
			code := makeInATerminal(t, mode)
			if (code == 0) != wantZero {
				t.Errorf("make exited %d after Ctrl-C; want 0: %v", code, wantZero)
			}
		})
	}
}

// makeInATerminal runs make on a pseudo-terminal, with a recipe that runs the helper,
// presses Ctrl-C once it is ready, and returns make's exit status.
func makeInATerminal(t *testing.T, mode string) int {
	t.Helper()
	makefile := filepath.Join(t.TempDir(), "Makefile")
	if err := os.WriteFile(makefile, []byte("demo:\n\t"+os.Args[0]+" -test.run=^$$\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ptmx, pts := openPTY(t)
	cmd := exec.CommandContext(t.Context(), "make", "-s", "-f", makefile, "demo")
	cmd.Env = append(os.Environ(), terminalHelperEnv+"="+mode)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	// make leads a session of its own with the pseudo-terminal as its terminal, as a
	// shell's foreground job has its own.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pts.Close()
	output := bufio.NewReader(ptmx)
	for {
		line, err := output.ReadString('\n')
		if err != nil {
			t.Fatalf("the helper never said it was ready: %v", err)
		}
		if strings.TrimSpace(line) == "ready" {
			break
		}
	}
	if _, err := ptmx.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode()
}

func openPTY(t *testing.T) (ptmx, pts *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ptmx, pts
}
