//go:build linux

package isolation

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
)

// The child learns its isolation from the environment; the names are the same in the
// parent and the child, so they need no other channel.
const (
	envName = "TANDEM_ISOLATION"
	envDir  = "TANDEM_ISOLATION_DIR"
)

// Addresses inside every namespace. They never leave it, so concurrent runs (the tests
// and a demo) can all use the same ones.
const (
	// NodeIP is the node's address: kubelet's --node-ip, what the API server dials.
	NodeIP = "10.77.0.1"
	// PodCIDR is what the node's CNI bridge hands out to pods.
	PodCIDR = "10.88.0.0/16"
	// nowhere is the default route's gateway: no host answers it, so nothing leaves.
	nowhere = "10.77.0.254"
)

// Isolation is where a child runs.
type Isolation struct {
	// Name names the network namespace (ip netns) and the cgroup root.
	Name string
	// Dir is scratch space, the child's TMPDIR. It is removed after a successful run
	// and kept, with every component's log in it, after a failed one.
	Dir string
}

// CgroupRoot is kubelet's cgroupRoot: every pod's cgroup goes under it.
func (iso *Isolation) CgroupRoot() string { return "/" + iso.Name }

// Inside reports whether this process is the child of Main, inside an isolation.
func Inside() bool { return os.Getenv(envName) != "" }

// Main runs inside in an isolation named prefix-<pid> and returns the exit code for
// os.Exit. Called in the original process, it sets the isolation up, runs this program
// again inside it and tears it down; called in that second process, it calls inside.
// Problems setting up or tearing down are reported on stderr.
func Main(prefix string, inside func(*Isolation) int) int {
	if Inside() {
		iso := &Isolation{Name: os.Getenv(envName), Dir: os.Getenv(envDir)}
		if err := iso.enter(); err != nil {
			fmt.Fprintln(os.Stderr, "isolation:", err)
			return 1
		}
		return inside(iso)
	}
	code, err := run(fmt.Sprintf("%s-%d", prefix, os.Getpid()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "isolation:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// run creates the isolation, runs the child in it, and removes it again.
func run(name string) (code int, err error) {
	if err := Preflight(); err != nil {
		return 1, err
	}
	iso := &Isolation{Name: name}
	if iso.Dir, err = os.MkdirTemp("", name+"-"); err != nil {
		return 1, err
	}
	defer func() { err = errors.Join(err, iso.remove(code != 0)) }()
	if err := createNetns(name); err != nil {
		return 1, err
	}
	if err := createCgroups(name); err != nil {
		return 1, err
	}
	return iso.runChild()
}

// runChild runs this program again, with the same arguments and standard streams, in a
// private mount namespace (unshare) inside the network namespace (nsenter). Both tools
// exec rather than fork, so the child is a single process that Pdeathsig ties to us.
func (iso *Isolation) runChild() (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 1, err
	}
	args := append([]string{"--mount", "--propagation", "slave", "--",
		"nsenter", "--net=" + netnsPath(iso.Name), "--", self}, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envName+"="+iso.Name, envDir+"="+iso.Dir, "TMPDIR="+iso.Dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	if err := cmd.Start(); err != nil {
		return 1, fmt.Errorf("starting %s inside %s: %w", filepath.Base(self), iso.Name, err)
	}
	// The child shuts its cluster down on these; the teardown waits for it.
	go func() {
		for s := range signals {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

// remove kills what the child left behind (containers, shims), then removes the
// cgroups, the namespace and, unless keep, the scratch directory.
func (iso *Isolation) remove(keep bool) error {
	if peak, ok := peakMemory(iso.Name); ok {
		fmt.Fprintf(os.Stderr, "isolation: %s used at most %d MiB of memory (processes and page cache)\n", iso.Name, peak>>20)
	}
	err := errors.Join(removeCgroups(iso.Name), deleteNetns(iso.Name))
	if keep {
		fmt.Fprintf(os.Stderr, "isolation: the run failed; its files and logs are kept in %s\n", iso.Dir)
		return err
	}
	return errors.Join(err, os.RemoveAll(iso.Dir))
}
