package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// Options configures Start.
type Options struct {
	// LogDir receives one <component>.log per process. Default: a "logs"
	// directory inside the control plane's temporary Dir, removed by Stop.
	LogDir string
	// Out receives progress lines; nil discards them.
	Out io.Writer
	// Address is where kube-apiserver listens and what it advertises as the
	// `kubernetes` Service's endpoint; default 127.0.0.1. Pods reach the API
	// server through that Service (with kube-proxy, see StartNode) only when it is
	// an address they can route to: the node's, inside an isolation.
	Address string
}

// ControlPlane is a running etcd + kube-apiserver + kube-controller-manager.
type ControlPlane struct {
	// Dir is the temporary directory holding certificates, kubeconfigs and
	// etcd data. Stop removes it.
	Dir string
	// KubeconfigPath is an admin (system:masters) kubeconfig for kubectl or
	// for processes under test.
	KubeconfigPath string
	// RESTConfig is the same admin identity for client-go.
	RESTConfig *rest.Config
	// KubectlPath is the cached kubectl matching the API server version.
	KubectlPath string
	// HelmPath is the cached helm (4), for the chart's tests; Helm3Path the cached
	// Helm 3, to check that it renders the chart alike.
	HelmPath, Helm3Path string
	// APIServerURL is https://<Options.Address>:<port>.
	APIServerURL string

	logDir   string
	address  string // the API server's
	out      io.Writer
	pki      *pki
	node     *node      // nil until StartNode
	procs    []*process // in start order; stopped in reverse
	stopOnce sync.Once
	stopErr  error
}

// Start launches a control plane and waits until it can run workloads: the
// API server is ready and the controller manager has created the `default`
// ServiceAccount. ctx bounds only the startup; the processes run until Stop.
// On error everything started so far is stopped again.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	bins, err := findBinaries(controlPlaneBinaries...)
	if err != nil {
		return nil, err
	}
	// A short name: the kubelet puts unix sockets several levels below it, and a socket
	// path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "cp-")
	if err != nil {
		return nil, err
	}
	if opts.Address == "" {
		opts.Address = "127.0.0.1"
	}
	cp := &ControlPlane{Dir: dir, KubectlPath: bins[kubectlBin], HelmPath: bins[helmBin], Helm3Path: bins[helm3Bin], logDir: opts.LogDir, out: opts.Out, address: opts.Address}
	if cp.out == nil {
		cp.out = io.Discard
	}
	if cp.logDir == "" {
		cp.logDir = filepath.Join(dir, "logs")
	}
	if err := cp.start(ctx, bins); err != nil {
		return nil, errors.Join(err, cp.Stop())
	}
	return cp, nil
}

// start brings the components up one after the other; each depends on the
// previous one being healthy.
func (cp *ControlPlane) start(ctx context.Context, bins map[string]string) error {
	began := time.Now()
	if err := os.MkdirAll(cp.logDir, 0o755); err != nil {
		return err
	}
	pki, err := newPKI(cp.Dir, cp.address)
	if err != nil {
		return err
	}
	cp.pki = pki
	etcdURL, err := cp.startEtcd(ctx, bins[etcdBin])
	if err != nil {
		return err
	}
	if err := cp.startAPIServer(ctx, bins[apiserverBin], pki, etcdURL); err != nil {
		return err
	}
	if err := cp.startControllerManager(ctx, bins[kcmBin], pki); err != nil {
		return err
	}
	cp.logf("control plane ready at %s in %s (kubeconfig %s, logs %s)",
		cp.APIServerURL, time.Since(began).Round(time.Millisecond), cp.KubeconfigPath, cp.logDir)
	return nil
}

// Stop terminates all components (the node's first, etcd last), waits for
// them, removes what the node's containers left, and removes Dir. It is safe to call more than once; later
// calls return the first call's result.
func (cp *ControlPlane) Stop() error {
	cp.stopOnce.Do(func() {
		var errs []error
		for i := len(cp.procs) - 1; i >= 0; i-- {
			errs = append(errs, cp.procs[i].stop())
		}
		if cp.node != nil {
			errs = append(errs, cp.node.cleanup())
		}
		errs = append(errs, os.RemoveAll(cp.Dir))
		cp.stopErr = errors.Join(errs...)
	})
	return cp.stopErr
}

// LogDir is the directory holding the components' log files.
func (cp *ControlPlane) LogDir() string { return cp.logDir }

// Kubectl runs the cached kubectl against this control plane and returns its
// stdout. On failure the error includes kubectl's stderr.
func (cp *ControlPlane) Kubectl(ctx context.Context, args ...string) ([]byte, error) {
	return cp.run(ctx, cp.KubectlPath, args...)
}

// Helm runs the cached helm against this control plane, as Kubectl does kubectl.
// Its cache, configuration and data stay in Dir, never in the user's home.
func (cp *ControlPlane) Helm(ctx context.Context, args ...string) ([]byte, error) {
	return cp.run(ctx, cp.HelmPath, args...)
}

// Helm3 runs the cached Helm 3, as Helm does Helm 4.
func (cp *ControlPlane) Helm3(ctx context.Context, args ...string) ([]byte, error) {
	return cp.run(ctx, cp.Helm3Path, args...)
}

func (cp *ControlPlane) run(ctx context.Context, bin string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", cp.KubeconfigPath}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if bin == cp.HelmPath || bin == cp.Helm3Path {
		helm := filepath.Join(cp.Dir, "helm")
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+helm+"/cache", "HELM_CONFIG_HOME="+helm+"/config", "HELM_DATA_HOME="+helm+"/data")
	}
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %v: %w: %s", filepath.Base(bin), args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

func (cp *ControlPlane) logf(format string, args ...any) {
	fmt.Fprintf(cp.out, "controlplane: "+format+"\n", args...)
}
