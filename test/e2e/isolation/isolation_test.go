//go:build linux

package isolation

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

const tmpfsMagic = 0x01021994

// current is the isolation the tests run in.
var current *Isolation

// The tests run inside an isolation; afterwards, outside again, TestMain checks that
// nothing of it is left on the host.
func TestMain(m *testing.M) {
	code := Main("tandem-isolation-test", func(iso *Isolation) int {
		current = iso
		return m.Run()
	})
	if os.Getenv(envName) == "" {
		if err := leftovers(fmt.Sprintf("tandem-isolation-test-%d", os.Getpid())); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func leftovers(name string) error {
	var left []string
	if _, err := os.Stat(netnsPath(name)); err == nil {
		left = append(left, netnsPath(name))
	}
	roots, _ := hierarchies()
	for _, root := range roots {
		if _, err := os.Stat(filepath.Join(root, name)); err == nil {
			left = append(left, filepath.Join(root, name))
		}
	}
	if dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), name+"-*")); len(dirs) > 0 {
		left = append(left, dirs...)
	}
	if len(left) > 0 {
		return fmt.Errorf("the isolation left %v behind", left)
	}
	return nil
}

func TestTheNodeAddressIsHereAndTheHostsAreNot(t *testing.T) {
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ifaces {
		names = append(names, i.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"lo", nodeLink, peerLink}) {
		t.Errorf("links %v: want only lo and the veth pair", names)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(addrs, func(a net.Addr) bool { return strings.HasPrefix(a.String(), NodeIP+"/") }) {
		t.Errorf("addresses %v lack the node address %s", addrs, NodeIP)
	}
	if _, err := net.Listen("tcp", NodeIP+":0"); err != nil {
		t.Errorf("cannot listen on the node address: %v", err)
	}
}

func TestScratchDirectoriesArePrivateTmpfs(t *testing.T) {
	for _, dir := range scratchMounts {
		var fs syscall.Statfs_t
		if err := syscall.Statfs(dir, &fs); err != nil {
			t.Fatal(err)
		}
		if fs.Type != tmpfsMagic {
			t.Errorf("%s is not a tmpfs here (type %#x)", dir, fs.Type)
		}
	}
	if os.Getenv("TMPDIR") != current.Dir || !strings.HasPrefix(current.Dir, os.TempDir()) {
		t.Errorf("TMPDIR %q, scratch %q: want the scratch directory", os.Getenv("TMPDIR"), current.Dir)
	}
}

func TestKubeletsSysctlsAreSetHereOnly(t *testing.T) {
	for entry, want := range sysctls {
		got, err := os.ReadFile(entry)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(got)) != want {
			t.Errorf("%s = %q here, want %q", entry, got, want)
		}
	}
}

func TestThisProcessRunsInTheCgroupRoot(t *testing.T) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	want := current.CgroupRoot() + "/" + harness
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !strings.HasSuffix(line, ":"+want) {
			t.Errorf("cgroup line %q: want %s in every hierarchy", line, want)
		}
	}
}

// Preflight names every missing tool and the package that has it, in one error.
func TestPreflightNamesWhatIsMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := Preflight()
	if err == nil {
		t.Fatal("Preflight passed with an empty PATH")
	}
	for _, want := range []string{"this host cannot run a Kubernetes node", "ip not found on PATH (Debian package iproute2)",
		"runc not found on PATH (Debian package runc)", "nsenter not found on PATH (Debian package util-linux)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
}
