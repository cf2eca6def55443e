package controlplane

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/tandem-io/tandem/test/images"
)

// TestDeploymentProducesPod proves the control plane is real: a Deployment
// goes through the deployment and replicaset controllers and ServiceAccount
// admission and ends up as a Pod. Stopping must leave no process behind.
func TestDeploymentProducesPod(t *testing.T) {
	cp := StartForTest(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	client := kubernetes.NewForConfigOrDie(cp.RESTConfig)

	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "controlplane-test-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.WaitForDefaultServiceAccount(ctx, ns.Name); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "pause"}
	_, err = client.AppsV1().Deployments(ns.Name).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "pause"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "pause", Image: "registry.k8s.io/pause:3.10"},
				}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: "app=pause"})
		return err == nil && len(pods.Items) > 0, nil
	})
	if err != nil {
		t.Fatalf("no pod for deployment pause: %v", err)
	}

	// kubectl must accept the stamped server version and the kubeconfig.
	out, err := cp.Kubectl(ctx, "get", "pods", "-n", ns.Name, "-o", "name")
	if err != nil || !strings.HasPrefix(string(out), "pod/pause-") {
		t.Fatalf("kubectl get pods = %q, %v", out, err)
	}

	assertStopsCleanly(t, cp)
}

func assertStopsCleanly(t *testing.T, cp *ControlPlane) {
	t.Helper()
	var pids []int
	for _, p := range cp.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	if len(pids) != 3 {
		t.Fatalf("expected 3 processes, got %d", len(pids))
	}
	if err := cp.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, pid := range pids {
		// Signal 0 probes existence; the whole process group must be gone.
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process group %d still exists after Stop (kill: %v)", pid, err)
		}
	}
	if _, err := os.Stat(cp.Dir); !os.IsNotExist(err) {
		t.Errorf("Dir %s not removed: %v", cp.Dir, err)
	}
	if err := cp.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestMissingBinaries checks the error tells people how to get the binaries.
func TestMissingBinaries(t *testing.T) {
	t.Setenv(binDirEnv, t.TempDir())
	_, err := Start(t.Context(), Options{})
	if err == nil || !strings.Contains(err.Error(), "make k8s-binaries") {
		t.Fatalf("Start with empty bin dir: %v", err)
	}
}

// TestVersionsMatchScript keeps BinDir in step with hack/k8s-binaries.sh.
func TestVersionsMatchScript(t *testing.T) {
	script, err := os.ReadFile("../../../hack/k8s-binaries.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^K8S_VERSION=(\S+) ETCD_VERSION=(\S+)$`).FindSubmatch(script)
	if m == nil || string(m[1]) != K8sVersion || string(m[2]) != EtcdVersion {
		t.Fatalf("hack/k8s-binaries.sh pins %q, package pins %s/%s", m, K8sVersion, EtcdVersion)
	}
}

// pinnedVersions runs hack/k8s-binaries.sh --versions.
func pinnedVersions(t *testing.T) []string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "../../../hack/k8s-binaries.sh", "--versions").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))
}

// TestPinnedVersion resolves TANDEM_K8S_VERSION as hack/k8s-binaries.sh does, and
// BinDir names the cache directory the script fills for it.
func TestPinnedVersion(t *testing.T) {
	pinned := pinnedVersions(t)
	if len(pinned) < 2 || !slices.Contains(pinned, K8sVersion) {
		t.Fatalf("hack/k8s-binaries.sh --versions = %v; want the default %s and others", pinned, K8sVersion)
	}
	for _, v := range pinned {
		minor := v[1:strings.LastIndex(v, ".")]
		for _, asked := range []string{minor, "v" + minor, v, v[1:]} {
			if got := PinnedVersion(asked); got != v {
				t.Errorf("PinnedVersion(%q) = %q, want %q", asked, got, v)
			}
		}
	}
	for asked, want := range map[string]string{"1.29": "v1.29", "1.30.2": "v1.30.2", "v1.99.0": "v1.99.0", "latest": "vlatest"} {
		if got := PinnedVersion(asked); got != want {
			t.Errorf("PinnedVersion(%q) = %q, want %q (not pinned, as given)", asked, got, want)
		}
	}

	cache := t.TempDir()
	t.Setenv(binDirEnv, "")
	t.Setenv(cacheRootEnv, cache)
	t.Setenv(versionEnv, pinned[0][1:strings.LastIndex(pinned[0], ".")])
	if got, want := BinDir(), filepath.Join(cache, pinned[0]+"-etcd"+EtcdVersion[1:], "bin"); got != want {
		t.Errorf("BinDir() with %s=%s is %s, want %s", versionEnv, os.Getenv(versionEnv), got, want)
	}
}

// TestScriptRefusesAVersionNotPinned: the script names the versions it has, before
// building anything.
func TestScriptRefusesAVersionNotPinned(t *testing.T) {
	pinned := pinnedVersions(t)
	for asked, want := range map[string]string{
		"1.29":    "Kubernetes 1.29 is not pinned; the pinned versions are: " + strings.Join(pinned, " "),
		"1.30.2":  "Kubernetes 1.30.2 is not pinned; the pinned 1.30 is ",
		"latest":  "TANDEM_K8S_VERSION=latest is not a Kubernetes version such as 1.30 or 1.30.14",
		"v1.30.x": "is not a Kubernetes version",
	} {
		cmd := exec.CommandContext(t.Context(), "../../../hack/k8s-binaries.sh")
		cmd.Env = append(os.Environ(), versionEnv+"="+asked, cacheRootEnv+"="+t.TempDir())
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), want) {
			t.Errorf("%s=%s: %v, %q; want exit 2 saying %q", versionEnv, asked, err, out, want)
		}
	}
}

// TestStartFailureReportsLogTail makes kube-apiserver crash on start: Start
// must fail fast with the component's own output instead of timing out.
func TestStartFailureReportsLogTail(t *testing.T) {
	cached, fake := BinDir(), t.TempDir()
	for _, name := range []string{etcdBin, kcmBin, kubectlBin, helmBin, helm3Bin} {
		if err := os.Symlink(filepath.Join(cached, name), filepath.Join(fake, name)); err != nil {
			t.Fatal(err)
		}
	}
	crash := "#!/bin/sh\necho 'bad flag: boom' >&2\nexit 3\n"
	if err := os.WriteFile(filepath.Join(fake, apiserverBin), []byte(crash), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(binDirEnv, fake)

	_, err := Start(t.Context(), Options{LogDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "kube-apiserver exited") || !strings.Contains(err.Error(), "bad flag: boom") {
		t.Fatalf("Start with crashing kube-apiserver: %v", err)
	}
	if testing.Verbose() {
		t.Log(err)
	}
}

// TestStartRetriesAComponentThatLostItsPort makes kube-apiserver fail once as if
// another process had taken its port between freePorts and the bind: Start must
// start it again on new ports and come up.
func TestStartRetriesAComponentThatLostItsPort(t *testing.T) {
	cached, fake := BinDir(), t.TempDir()
	for _, name := range []string{etcdBin, kcmBin, kubectlBin, helmBin, helm3Bin} {
		if err := os.Symlink(filepath.Join(cached, name), filepath.Join(fake, name)); err != nil {
			t.Fatal(err)
		}
	}
	tried := filepath.Join(fake, "tried")
	flaky := "#!/bin/sh\n" +
		"if [ ! -e " + tried + " ]; then\n" +
		"  touch " + tried + "\n" +
		"  echo 'failed to listen on 127.0.0.1:6443: listen tcp 127.0.0.1:6443: bind: address already in use' >&2\n" +
		"  exit 1\n" +
		"fi\n" +
		"exec " + filepath.Join(cached, apiserverBin) + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(fake, apiserverBin), []byte(flaky), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(binDirEnv, fake)

	var out strings.Builder
	cp, err := Start(t.Context(), Options{LogDir: t.TempDir(), Out: &out})
	if err != nil {
		t.Fatalf("Start after a port clash: %v", err)
	}
	assertStopsCleanly(t, cp)
	if _, err := os.Stat(tried); err != nil || !strings.Contains(out.String(), "lost a port") {
		t.Fatalf("the clash did not happen or was not reported (%v):\n%s", err, out.String())
	}
}

// A node outside an isolation would change the host's network: StartNode refuses.
func TestStartNodeNeedsAnIsolation(t *testing.T) {
	cp := &ControlPlane{}
	err := cp.StartNode(t.Context(), NodeOptions{})
	if err == nil || !strings.Contains(err.Error(), "a node needs an isolation") {
		t.Fatalf("got %v, want a refusal naming the isolation", err)
	}
}

// containerd reads the node's configuration as written: a typo in a table name would
// silently leave a default (say, runc's root under /run/containerd) in place.
func TestContainerdReadsTheNodeConfiguration(t *testing.T) {
	bins, err := findBinaries(containerdBin)
	if err != nil {
		t.Fatal(err)
	}
	cfg := nodeConfig{Files: newNodeFiles(t.TempDir()), IP: "10.77.0.1", PodCIDR: "10.88.0.0/16",
		Runc: "/usr/sbin/runc", CNIBin: "/cni-bin", Sandbox: images.PauseTag, PodLogs: t.TempDir()}
	if err := cfg.write(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bins[containerdBin], "--config", cfg.Files.ContainerdConfig, "config", "dump").CombinedOutput()
	if err != nil {
		t.Fatalf("containerd config dump: %v\n%s", err, out)
	}
	// A setting under a misspelt table would still be dumped, under that table.
	for name, want := range map[string]string{
		"'io.containerd.cri.v1.runtime'":                                  "restrict_oom_score_adj = true",
		"'io.containerd.cri.v1.images'.pinned_images":                     "sandbox = '" + images.PauseTag + "'",
		"'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options": "Root = '" + cfg.Files.Dir + "/runc'",
		"'io.containerd.cri.v1.runtime'.cni":                              "bin_dirs = ['/cni-bin']",
		"'io.containerd.internal.v1.opt'":                                 "path = '" + cfg.Files.Dir + "/containerd/opt'",
	} {
		if got := table(string(out), "[plugins."+name+"]"); !strings.Contains(got, want) {
			t.Errorf("containerd's effective [plugins.%s] lacks %q:\n%s", name, want, got)
		}
	}
}

// table returns the lines of a dumped TOML table, up to the next table.
func table(dump, header string) string {
	_, rest, found := strings.Cut(dump, header+"\n")
	if !found {
		return ""
	}
	var lines []string
	for _, line := range strings.Split(rest, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "[") {
			break
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
