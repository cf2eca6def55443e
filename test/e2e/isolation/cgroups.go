//go:build linux

package isolation

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// harness is the child cgroup the isolated program (and so containerd and the shims it
// starts) runs in; kubelet puts pods beside it.
const harness = "harness"

// hierarchies returns the mount point of every cgroup hierarchy: one per v1
// controller, plus the unified v2 one if mounted.
func hierarchies() ([]string, error) {
	all, err := mounts()
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, m := range all {
		if m.fstype == "cgroup" || m.fstype == "cgroup2" {
			paths = append(paths, m.point)
		}
	}
	if len(paths) == 0 {
		return nil, errors.New("no cgroup hierarchy is mounted")
	}
	return paths, nil
}

// createCgroups makes <hierarchy>/name/harness in every hierarchy.
func createCgroups(name string) error {
	roots, err := hierarchies()
	if err != nil {
		return err
	}
	for _, root := range roots {
		for _, dir := range []string{filepath.Join(root, name), filepath.Join(root, name, harness)} {
			if err := os.Mkdir(dir, 0o755); err != nil {
				return errors.Join(fmt.Errorf("creating cgroup %s: %w", dir, err), removeCgroups(name))
			}
			// A new v1 cpuset has no CPUs and no memory nodes: no process could join it.
			if err := inheritCpuset(dir); err != nil {
				return errors.Join(err, removeCgroups(name))
			}
		}
		// v2 only: let the pods' cgroups below use the controllers the root offers.
		// Errors are fine: a hybrid host's unified hierarchy has none to give.
		if data, err := os.ReadFile(filepath.Join(root, "cgroup.controllers")); err == nil {
			for _, c := range strings.Fields(string(data)) {
				_ = os.WriteFile(filepath.Join(root, name, "cgroup.subtree_control"), []byte("+"+c), 0)
			}
		}
	}
	return nil
}

func inheritCpuset(dir string) error {
	for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
		parent, err := os.ReadFile(filepath.Join(filepath.Dir(dir), file))
		if errors.Is(err, fs.ErrNotExist) {
			return nil // not the cpuset hierarchy
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, file), parent, 0); err != nil {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
	}
	return nil
}

// joinCgroups moves this process into name/harness in every hierarchy.
func joinCgroups(name string) error {
	roots, err := hierarchies()
	if err != nil {
		return err
	}
	pid := []byte(strconv.Itoa(os.Getpid()))
	for _, root := range roots {
		if err := os.WriteFile(filepath.Join(root, name, harness, "cgroup.procs"), pid, 0); err != nil {
			return fmt.Errorf("joining cgroup %s: %w", name, err)
		}
	}
	return nil
}

// removeCgroups kills every process left in name's cgroups, in every hierarchy (a
// process sits in one cgroup of each), then removes them, deepest first.
func removeCgroups(name string) error {
	roots, err := hierarchies()
	if err != nil {
		return err
	}
	var trees []string
	for _, root := range roots {
		if _, err := os.Stat(filepath.Join(root, name)); err == nil {
			trees = append(trees, filepath.Join(root, name))
		}
	}
	if err := killAll(trees); err != nil {
		return fmt.Errorf("cgroup %s: %w", name, err)
	}
	var errs []error
	for _, tree := range trees {
		errs = append(errs, removeTree(tree))
	}
	return errors.Join(errs...)
}

// killAll kills every process in the cgroups under the trees. Killed processes leave
// their cgroups only once reaped, by a parent that may be dying too: it looks again
// until they are all gone.
func killAll(trees []string) error {
	deadline := time.Now().Add(15 * time.Second)
	for len(processes(trees)) > 0 && time.Now().Before(deadline) {
		for _, pid := range processes(trees) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if left := processes(trees); len(left) > 0 {
		return fmt.Errorf("processes %v survived SIGKILL", left)
	}
	return nil
}

// processes lists the pids in every cgroup under the trees.
func processes(trees []string) []int {
	var pids []int
	for _, tree := range trees {
		_ = filepath.WalkDir(tree, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			data, _ := os.ReadFile(path)
			for _, field := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(field); err == nil && !slices.Contains(pids, pid) {
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// removeTree removes a cgroup and its descendants. Cgroup directories are removed with
// rmdir even though they list files.
func removeTree(tree string) error {
	var dirs []string
	_ = filepath.WalkDir(tree, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	var errs []error
	for _, dir := range slices.Backward(dirs) {
		if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// peakMemory is the most memory the cgroup root was charged at once: every process in
// it, and the page cache they filled. Both cgroup versions count hierarchically.
func peakMemory(name string) (uint64, bool) {
	roots, err := hierarchies()
	if err != nil {
		return 0, false
	}
	for _, root := range roots {
		for _, file := range []string{"memory.max_usage_in_bytes", "memory.peak"} {
			data, err := os.ReadFile(filepath.Join(root, name, file))
			if err != nil {
				continue
			}
			if n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64); err == nil && n > 0 {
				return n, true
			}
		}
	}
	return 0, false
}
