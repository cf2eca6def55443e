package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/test/e2e/isolation"
	"github.com/tandem-io/tandem/test/images"
)

// NodeName is the name the one node registers under.
const NodeName = "tandem-node"

// nodeTimeout bounds each step of StartNode; a node is Ready in seconds.
const nodeTimeout = 90 * time.Second

// NodeOptions configures StartNode.
type NodeOptions struct {
	// Isolation is where the node runs: this process must be inside it (see
	// isolation.Main). Pods' cgroups go under its cgroup root.
	Isolation *isolation.Isolation
	// Images are docker-archive tarballs imported into containerd before kubelet
	// starts: every image a pod uses, and containerd's sandbox image,
	// images.PauseTag (no registry is reachable to pull it from).
	Images []string
}

// node is what Stop must undo beyond stopping processes.
type node struct {
	iso *isolation.Isolation
	dir string
}

// StartNode adds one node to the cluster: containerd (with runc and the CNI bridge),
// kubelet and kube-scheduler. It returns once the node is Ready and no longer tainted
// not-ready, so pods schedule and run. Stop stops it with the rest.
func (cp *ControlPlane) StartNode(ctx context.Context, opts NodeOptions) error {
	began := time.Now()
	if opts.Isolation == nil {
		return errors.New("controlplane: a node needs an isolation (isolation.Main)")
	}
	bins, err := findBinaries(nodeBinaries...)
	if err != nil {
		return err
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		return fmt.Errorf("controlplane: a node needs runc on PATH (Debian package runc): %w", err)
	}
	cfg := nodeConfig{
		Files: newNodeFiles(filepath.Join(cp.Dir, "node")),
		IP:    isolation.NodeIP, PodCIDR: isolation.PodCIDR,
		CA: cp.pki.caCert, CgroupRoot: opts.Isolation.CgroupRoot(),
		Runc: runc, CNIBin: filepath.Join(BinDir(), cniDir), Sandbox: images.PauseTag,
		PodLogs: filepath.Join(cp.logDir, "pods"), NodeName: NodeName,
	}
	// The identity the bootstrap RBAC roles give kube-proxy's permissions to.
	proxyClient, err := cp.pki.ca.IssueClient("system:kube-proxy", nil, validity)
	if err != nil {
		return err
	}
	if cfg.KubeProxyKubeconfig, err = cp.writeKubeconfig("kube-proxy.kubeconfig", cp.pki.caPEM, proxyClient); err != nil {
		return err
	}
	cp.node = &node{iso: opts.Isolation, dir: cfg.Files.Dir}
	if err := cfg.write(); err != nil {
		return err
	}
	if err := cp.startContainerd(ctx, bins, cfg.Files); err != nil {
		return err
	}
	for _, image := range opts.Images {
		if _, err := cp.ctr(ctx, bins, cfg.Files, "images", "import", image); err != nil {
			return err
		}
	}
	kubelet, err := cp.startKubelet(bins[kubeletBin], cfg)
	if err != nil {
		return err
	}
	if err := cp.startScheduler(bins[schedulerBin]); err != nil {
		return err
	}
	if err := cp.startKubeProxy(ctx, bins[kubeProxyBin], cfg.Files); err != nil {
		return err
	}
	if err := cp.waitForNode(ctx, kubelet); err != nil {
		return err
	}
	cp.logf("node %s ready in %s", NodeName, time.Since(began).Round(time.Millisecond))
	return nil
}

// startContainerd runs containerd in a cgroup of its own, so that the shims it starts
// (which outlive it) can be found and killed at Stop.
func (cp *ControlPlane) startContainerd(ctx context.Context, bins map[string]string, files nodeFiles) error {
	// containerd finds its shim on PATH.
	env := append(os.Environ(), "PATH="+BinDir()+string(os.PathListSeparator)+os.Getenv("PATH"))
	p, err := cp.launchEnv("containerd", env, bins[containerdBin], "--config", files.ContainerdConfig)
	if err != nil {
		return err
	}
	if err := cp.node.iso.Adopt(p.cmd.Process.Pid, "containerd"); err != nil {
		return err
	}
	return cp.waitFor(ctx, p, nodeTimeout, "containerd", func(ctx context.Context) error {
		_, err := cp.ctr(ctx, bins, files, "version")
		return err
	})
}

// ctr runs containerd's client against the node's containerd, in the namespace CRI uses.
func (cp *ControlPlane) ctr(ctx context.Context, bins map[string]string, files nodeFiles, args ...string) ([]byte, error) {
	args = append([]string{"--address", files.Socket, "--namespace", "k8s.io"}, args...)
	out, err := exec.CommandContext(ctx, bins[ctrBin], args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("ctr %v: %w: %s", args, err, out)
	}
	return out, nil
}

func (cp *ControlPlane) startKubelet(bin string, cfg nodeConfig) (*process, error) {
	serving, err := cp.pki.ca.Issue([]string{cfg.IP, NodeName}, validity)
	if err != nil {
		return nil, err
	}
	if err := serving.WriteFiles(cfg.Files.ServingCert, cfg.Files.ServingKey); err != nil {
		return nil, err
	}
	// The node authorizer and NodeRestriction know a kubelet by this name and group.
	client, err := cp.pki.ca.IssueClient("system:node:"+NodeName, []string{"system:nodes"}, validity)
	if err != nil {
		return nil, err
	}
	kubeconfig, err := cp.writeKubeconfig("kubelet.kubeconfig", cp.pki.caPEM, client)
	if err != nil {
		return nil, err
	}
	return cp.launch("kubelet", bin,
		"--config="+cfg.Files.KubeletConfig,
		"--kubeconfig="+kubeconfig,
		"--root-dir="+cfg.Files.KubeletRoot,
		"--hostname-override="+NodeName,
		"--node-ip="+cfg.IP,
		"--v=1",
	)
}

func (cp *ControlPlane) startScheduler(bin string) error {
	client, err := cp.pki.ca.IssueClient("system:kube-scheduler", []string{"system:masters"}, validity)
	if err != nil {
		return err
	}
	kubeconfig, err := cp.writeKubeconfig("kube-scheduler.kubeconfig", cp.pki.caPEM, client)
	if err != nil {
		return err
	}
	_, err = cp.launch("kube-scheduler", bin,
		"--kubeconfig="+kubeconfig,
		"--leader-elect=false",
		// Readiness is observed through the API, as for the controller manager.
		"--secure-port=0",
	)
	return err
}

// startKubeProxy runs kube-proxy and waits until it has programmed the Services.
func (cp *ControlPlane) startKubeProxy(ctx context.Context, bin string, files nodeFiles) error {
	p, err := cp.launch("kube-proxy", bin, "--config="+files.KubeProxyConfig)
	if err != nil {
		return err
	}
	return cp.waitFor(ctx, p, nodeTimeout, "kube-proxy /healthz", func(ctx context.Context) error {
		return httpOK(ctx, http.DefaultClient, "http://127.0.0.1:10256/healthz")
	})
}

// waitForNode waits until the node is Ready and the node lifecycle controller has
// lifted its not-ready taint: only then does the scheduler place pods on it.
func (cp *ControlPlane) waitForNode(ctx context.Context, kubelet *process) error {
	client, err := kubernetes.NewForConfig(cp.RESTConfig)
	if err != nil {
		return err
	}
	return cp.waitFor(ctx, kubelet, nodeTimeout, "node "+NodeName+" Ready and untainted", func(ctx context.Context) error {
		n, err := client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ready := slices.ContainsFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool {
			return c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
		})
		if !ready {
			return errors.New("not Ready")
		}
		if slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeNotReady }) {
			return errors.New("still tainted " + corev1.TaintNodeNotReady)
		}
		return nil
	})
}

// cleanup runs after kubelet and containerd have stopped: it kills the containers and
// shims they leave running and unmounts the volumes and root filesystems, so that
// Dir can be removed.
func (n *node) cleanup() error {
	return errors.Join(n.iso.KillOthers(), isolation.Unmount(n.dir))
}
