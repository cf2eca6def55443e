//go:build linux

package isolation

import (
	"bufio"
	"os"
	"slices"
	"strings"
)

// mount is one line of /proc/self/mountinfo: where, and what filesystem.
type mount struct{ point, fstype string }

// mounts lists this mount namespace's mounts. Mount points escape spaces and such as
// octal; the paths looked for here have none.
func mounts() ([]mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var all []mount
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
		fields := strings.Fields(scanner.Text())
		if sep := slices.Index(fields, "-"); sep >= 5 && sep+1 < len(fields) {
			all = append(all, mount{point: fields[4], fstype: fields[sep+1]})
		}
	}
	return all, scanner.Err()
}
