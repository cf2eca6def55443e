package controlplane

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// Startup budgets per component. A cold kube-apiserver needs a few seconds
// (post-start hooks, bootstrap RBAC); the rest is headroom for loaded CI.
const (
	etcdTimeout      = 30 * time.Second
	apiserverTimeout = 90 * time.Second
	kcmTimeout       = 90 * time.Second
)

// startEtcd runs a single-member etcd on loopback with its data in Dir and
// returns its client URL.
func (cp *ControlPlane) startEtcd(ctx context.Context, bin string) (string, error) {
	var clientURL string
	err := cp.retryOnPortClash(func() (*process, error) {
		var p *process
		var err error
		clientURL, p, err = cp.tryEtcd(ctx, bin)
		return p, err
	})
	return clientURL, err
}

func (cp *ControlPlane) tryEtcd(ctx context.Context, bin string) (string, *process, error) {
	ports, err := freePorts(2)
	if err != nil {
		return "", nil, err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	p, err := cp.launch("etcd", bin,
		"--name=default",
		"--data-dir="+filepath.Join(cp.Dir, "etcd-data"),
		"--listen-client-urls="+clientURL,
		"--advertise-client-urls="+clientURL,
		// The peer listener is unused by a one-member cluster, but etcd
		// would otherwise bind its default 0.0.0.0:2380.
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		// Durability is pointless for a throwaway cluster; skipping fsync
		// makes the API server markedly faster on slow CI disks.
		"--unsafe-no-fsync",
	)
	if err != nil {
		return "", nil, err
	}
	err = cp.waitFor(ctx, p, etcdTimeout, "etcd /health", func(ctx context.Context) error {
		return httpOK(ctx, http.DefaultClient, clientURL+"/health")
	})
	return clientURL, p, err
}

// startAPIServer runs kube-apiserver on a free loopback port, writes the
// admin kubeconfig and fills in RESTConfig.
func (cp *ControlPlane) startAPIServer(ctx context.Context, bin string, pki *pki, etcdURL string) error {
	return cp.retryOnPortClash(func() (*process, error) { return cp.tryAPIServer(ctx, bin, pki, etcdURL) })
}

func (cp *ControlPlane) tryAPIServer(ctx context.Context, bin string, pki *pki, etcdURL string) (*process, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	cp.APIServerURL = "https://" + net.JoinHostPort(cp.address, strconv.Itoa(ports[0]))
	reconciler := "lease"
	if net.ParseIP(cp.address).IsLoopback() {
		// The default reconciler refuses a loopback advertise address; no pod
		// could use such an endpoint anyway.
		reconciler = "none"
	}
	p, err := cp.launch("kube-apiserver", bin,
		"--etcd-servers="+etcdURL,
		"--bind-address="+cp.address,
		"--advertise-address="+cp.address,
		"--secure-port="+strconv.Itoa(ports[0]),
		"--endpoint-reconciler-type="+reconciler,
		// Webhooks behind a Service are called at their endpoints' addresses,
		// as in clusters whose control plane runs no kube-proxy.
		"--enable-aggregator-routing=true",
		"--tls-cert-file="+pki.servingCert,
		"--tls-private-key-file="+pki.servingKey,
		"--client-ca-file="+pki.caCert,
		// Node: what a kubelet may do, when StartNode adds one.
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pki.saPub,
		"--service-account-signing-key-file="+pki.saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		// Like kubeadm clusters, so privileged sidecars are not rejected.
		"--allow-privileged=true",
		// For `kubectl logs` and exec when a node runs (StartNode).
		"--kubelet-client-certificate="+pki.kubeletClientCert,
		"--kubelet-client-key="+pki.kubeletClientKey,
		"--kubelet-preferred-address-types=InternalIP",
	)
	if err != nil {
		return nil, err
	}
	if cp.KubeconfigPath, err = cp.writeKubeconfig("admin.kubeconfig", pki.caPEM, pki.admin); err != nil {
		return p, err
	}
	if cp.RESTConfig, err = restConfig(cp.KubeconfigPath); err != nil {
		return p, err
	}
	client, err := rest.HTTPClientFor(cp.RESTConfig)
	if err != nil {
		return p, err
	}
	return p, cp.waitFor(ctx, p, apiserverTimeout, "kube-apiserver /readyz", func(ctx context.Context) error {
		return httpOK(ctx, client, cp.APIServerURL+"/readyz")
	})
}

// startControllerManager runs every default controller, so Deployments get
// ReplicaSets and Pods and new namespaces get their `default` ServiceAccount.
func (cp *ControlPlane) startControllerManager(ctx context.Context, bin string, pki *pki) error {
	kubeconfig, err := cp.writeKubeconfig("kube-controller-manager.kubeconfig", pki.caPEM, pki.kcm)
	if err != nil {
		return err
	}
	_, err = cp.launch("kube-controller-manager", bin,
		"--kubeconfig="+kubeconfig,
		"--controllers=*",
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file="+pki.saKey,
		"--root-ca-file="+pki.caCert,
		// Lets the CSR signer work instead of logging errors at startup.
		"--cluster-signing-cert-file="+pki.caCert,
		"--cluster-signing-key-file="+pki.caKey,
		// No HTTPS endpoint: readiness is observed through the API instead,
		// and it avoids one more port and its delegated-auth lookups.
		"--secure-port=0",
		"--bind-address=127.0.0.1",
	)
	if err != nil {
		return err
	}
	// The serviceaccount controller creating `default` proves the
	// controllers are running and that Pods can be admitted.
	return cp.WaitForDefaultServiceAccount(ctx, "default")
}

// launch starts a component and registers it for Stop.
func (cp *ControlPlane) launch(name, bin string, args ...string) (*process, error) {
	return cp.launchEnv(name, nil, bin, args...)
}

// launchEnv is launch with an environment of its own (nil: this process's).
func (cp *ControlPlane) launchEnv(name string, env []string, bin string, args ...string) (*process, error) {
	p, err := startProcess(name, bin, cp.logDir, env, args...)
	if err != nil {
		return nil, err
	}
	cp.procs = append(cp.procs, p)
	cp.logf("started %s (pid %d), log %s", name, p.cmd.Process.Pid, p.logPath)
	return p, nil
}

// portAttempts bounds how often a component is started again after losing a
// port to another process.
const portAttempts = 3

// retryOnPortClash runs start, which launches a component on fresh ports from
// freePorts and waits for it, again when the component died because one of
// those ports was taken in the meantime (freePorts must release them before
// the component binds them). Any other failure is returned at once.
func (cp *ControlPlane) retryOnPortClash(start func() (*process, error)) error {
	for attempt := 1; ; attempt++ {
		p, err := start()
		if err == nil || p == nil || attempt == portAttempts || !portClash(p) {
			return err
		}
		cp.logf("%s lost a port to another process; starting it again on new ports", p.name)
		cp.procs = slices.DeleteFunc(cp.procs, func(q *process) bool { return q == p })
	}
}

// portClash reports whether p exited because an address it was to listen on
// was in use.
func portClash(p *process) bool {
	done, _ := p.exited()
	return done && strings.Contains(p.tail(tailLines), "address already in use")
}

// freePorts asks the kernel for n distinct free loopback ports. They are
// released before use, so another process could grab one in between:
// retryOnPortClash covers that.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close() // held until all n are chosen, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// httpOK GETs url and succeeds on HTTP 200.
func httpOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, body)
	}
	return nil
}
