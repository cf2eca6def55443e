package controlplane

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// Pinned upstream versions. They must match hack/k8s-binaries.sh, which
// builds the binaries into a directory named after them (checked by a test).
// K8sVersion is the default; TANDEM_K8S_VERSION picks another pinned one.
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
	versionEnv    = "TANDEM_K8S_VERSION"
	cacheRootEnv  = "TANDEM_K8S_CACHE"
	buildCommands = "run `make k8s-binaries` (hack/k8s-binaries.sh), with the same " + versionEnv + " if set, or set " + binDirEnv
)

// BinDir returns the directory holding the control-plane binaries:
// $TANDEM_K8S_BIN_DIR if set, else the cache directory hack/k8s-binaries.sh
// fills for $TANDEM_K8S_VERSION (default K8sVersion),
// ${TANDEM_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tandem/k8s}/<versions>/bin.
// A version that is not pinned gives a directory that does not exist, which
// Start reports with the way to build it.
func BinDir() string {
	if dir := os.Getenv(binDirEnv); dir != "" {
		return dir
	}
	k8s := K8sVersion
	if asked := os.Getenv(versionEnv); asked != "" {
		k8s = PinnedVersion(asked)
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
	return filepath.Join(root, k8s+"-etcd"+EtcdVersion[1:], "bin")
}

// requireKubernetes finds the version a tools go.mod pins.
var requireKubernetes = regexp.MustCompile(`(?m)^require k8s.io/kubernetes (v\S+)$`)

// PinnedVersion resolves a Kubernetes version as TANDEM_K8S_VERSION takes it (1.30,
// 1.30.14 or v1.30.14) to the version its minor's tools module pins, as
// hack/k8s-binaries.sh does; one that is not pinned is returned as given (with a v).
func PinnedVersion(asked string) string {
	asked = "v" + strings.TrimPrefix(asked, "v")
	parts := strings.SplitN(asked, ".", 3)
	if len(parts) < 2 {
		return asked
	}
	minor := parts[0] + "." + parts[1]
	if strings.HasPrefix(K8sVersion, minor+".") {
		return K8sVersion
	}
	_, file, _, _ := runtime.Caller(0)
	mod, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "tools", "kubernetes-"+minor[1:], "go.mod"))
	if err != nil {
		return asked
	}
	m := requireKubernetes.FindSubmatch(mod)
	if m == nil || (len(parts) == 3 && string(m[1]) != asked) {
		return asked
	}
	return string(m[1])
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
