//go:build linux

package isolation

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// The veth pair's ends; both stay inside the namespace, where the names are free.
const (
	nodeLink = "tandem0"
	peerLink = "tandem1"
)

func netnsPath(name string) string { return filepath.Join("/run/netns", name) }

// createNetns makes the namespace with loopback up and the node address on a veth
// pair that lies entirely inside it (this kernel may lack the dummy driver). The
// default route points at an address nobody has: a component that looks for a default
// interface finds one, and a packet sent anywhere outside still goes nowhere.
func createNetns(name string) error {
	steps := [][]string{
		{"netns", "add", name},
		{"-n", name, "link", "set", "lo", "up"},
		{"-n", name, "link", "add", nodeLink, "type", "veth", "peer", "name", peerLink},
		{"-n", name, "addr", "add", NodeIP + "/24", "dev", nodeLink},
		{"-n", name, "link", "set", nodeLink, "up"},
		{"-n", name, "link", "set", peerLink, "up"},
		{"-n", name, "route", "add", "default", "via", nowhere, "dev", nodeLink},
	}
	for i, args := range steps {
		if err := ip(args...); err != nil {
			if i > 0 {
				err = errors.Join(err, deleteNetns(name))
			}
			return err
		}
	}
	return nil
}

// deleteNetns removes the namespace; its links, bridge and pod veths go with it.
func deleteNetns(name string) error {
	err := ip("netns", "delete", name)
	if err != nil && strings.Contains(err.Error(), "No such file") {
		return nil
	}
	return err
}

func ip(args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command("ip", args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
