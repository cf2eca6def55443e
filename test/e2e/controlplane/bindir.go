package controlplane

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Pinned upstream versions. They must match hack/k8s-binaries.sh, which
// builds the binaries into a directory named after them (checked by a test).
const (
	K8sVersion  = "v1.37.2"
	EtcdVersion = "v3.6.16"
)

// Binary names expected in BinDir.
const (
	etcdBin       = "etcd"
	apiserverBin  = "kube-apiserver"
	kcmBin        = "kube-controller-manager"
	kubectlBin    = "kubectl"
	helmBin       = "helm"
	helm3Bin      = "helm3"
	binDirEnv     = "TANDEM_K8S_BIN_DIR"
	cacheRootEnv  = "TANDEM_K8S_CACHE"
	buildCommands = "run `make k8s-binaries` (hack/k8s-binaries.sh) or set " + binDirEnv
)

// BinDir returns the directory holding the control-plane binaries:
// $TANDEM_K8S_BIN_DIR if set, else the cache directory hack/k8s-binaries.sh
// fills, ${TANDEM_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tandem/k8s}/<versions>/bin.
func BinDir() string {
	if dir := os.Getenv(binDirEnv); dir != "" {
		return dir
	}
	root := os.Getenv(cacheRootEnv)
	if root == "" {
		// Spelled out rather than os.UserCacheDir so that macOS uses the
		// same path as the shell script (~/.cache, not ~/Library/Caches).
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		root = filepath.Join(cache, "tandem", "k8s")
	}
	return filepath.Join(root, K8sVersion+"-etcd"+EtcdVersion[1:], "bin")
}

// Binary names of the node's components in BinDir; the CNI plugins are in
// its cni/ subdirectory.
const (
	kubeletBin    = "kubelet"
	kubeProxyBin  = "kube-proxy"
	schedulerBin  = "kube-scheduler"
	containerdBin = "containerd"
	shimBin       = "containerd-shim-runc-v2"
	ctrBin        = "ctr"
	cniDir        = "cni"
)

var (
	controlPlaneBinaries = []string{etcdBin, apiserverBin, kcmBin, kubectlBin, helmBin, helm3Bin}
	nodeBinaries         = []string{kubeletBin, kubeProxyBin, schedulerBin, containerdBin, shimBin, ctrBin,
		cniDir + "/bridge", cniDir + "/host-local", cniDir + "/loopback"}
)

// findBinaries resolves every binary in BinDir, naming all missing ones in
// a single error so the fix is obvious.
func findBinaries(names ...string) (map[string]string, error) {
	dir := BinDir()
	paths := map[string]string{}
	var missing []string
	for _, name := range names {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, name)
			continue
		}
		paths[name] = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("controlplane: missing %s in %s; %s",
			strings.Join(missing, ", "), dir, buildCommands)
	}
	return paths, nil
}
