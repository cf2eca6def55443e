//go:build linux

package isolation

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Adopt moves process pid into the cgroup sub under the root (created if needed), so
// that KillOthers finds it and every process it starts. Containerd is adopted, so the
// shims it starts can be told apart from the harness.
func (iso *Isolation) Adopt(pid int, sub string) error {
	roots, err := hierarchies()
	if err != nil {
		return err
	}
	for _, root := range roots {
		dir := filepath.Join(root, iso.Name, sub)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := inheritCpuset(dir); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("moving pid %d into cgroup %s: %w", pid, dir, err)
		}
	}
	return nil
}

// KillOthers kills every process under the cgroup root but the harness: containers,
// pause processes and shims, which outlive kubelet and containerd.
func (iso *Isolation) KillOthers() error {
	roots, err := hierarchies()
	if err != nil {
		return err
	}
	var trees []string
	for _, root := range roots {
		entries, _ := os.ReadDir(filepath.Join(root, iso.Name))
		for _, e := range entries {
			if e.IsDir() && e.Name() != harness {
				trees = append(trees, filepath.Join(root, iso.Name, e.Name()))
			}
		}
	}
	return killAll(trees)
}

// Unmount detaches every mount at or below dir, deepest first: the volumes kubelet
// mounted and the containers' root filesystems, which would otherwise stop dir from
// being removed.
func Unmount(dir string) error {
	all, err := mounts()
	if err != nil {
		return err
	}
	var points []string
	for _, m := range all {
		if m.point == dir || strings.HasPrefix(m.point, dir+"/") {
			points = append(points, m.point)
		}
	}
	slices.SortFunc(points, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
