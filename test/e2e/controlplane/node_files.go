package controlplane

import (
	"os"
	"path/filepath"
	"text/template"
)

// nodeFiles are the node's directories and configuration files, all under one
// directory of the control plane's Dir.
type nodeFiles struct {
	Dir                     string
	ContainerdConfig        string
	Socket                  string // containerd's CRI and API socket
	CNIConf, CNIIPAM        string
	KubeletConfig           string
	KubeProxyConfig         string
	KubeletRoot             string
	ServingCert, ServingKey string
}

func newNodeFiles(dir string) nodeFiles {
	return nodeFiles{
		Dir:              dir,
		ContainerdConfig: filepath.Join(dir, "containerd.toml"),
		Socket:           filepath.Join(dir, "containerd.sock"),
		CNIConf:          filepath.Join(dir, "cni", "net.d"),
		CNIIPAM:          filepath.Join(dir, "cni", "ipam"),
		KubeletConfig:    filepath.Join(dir, "kubelet.yaml"),
		KubeProxyConfig:  filepath.Join(dir, "kube-proxy.yaml"),
		KubeletRoot:      filepath.Join(dir, "kubelet"),
		ServingCert:      filepath.Join(dir, "kubelet.crt"),
		ServingKey:       filepath.Join(dir, "kubelet.key"),
	}
}

// containerdConfig is containerd 2's configuration (version 3). Every path is the
// node's own, so nothing is written under /var/lib, /run/containerd or /opt.
var containerdConfig = template.Must(template.New("containerd").Parse(`version = 3
root = "{{.Files.Dir}}/containerd/root"
state = "{{.Files.Dir}}/containerd/state"
# No NRI socket under /var/run, no tracing exporters.
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{{.Files.Socket}}"

[ttrpc]
  address = "{{.Files.Socket}}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{{.Files.Dir}}/containerd/opt"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  # No registry is reachable: the sandbox image is imported, and must never be
  # garbage-collected.
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "{{.Sandbox}}"

[plugins."io.containerd.cri.v1.runtime"]
  # Root here may lack CAP_SYS_RESOURCE: runc then fails every sandbox asked for an
  # oom_score_adj below containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "{{.Runc}}"
        Root = "{{.Files.Dir}}/runc"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["{{.CNIBin}}"]
    conf_dir = "{{.Files.CNIConf}}"

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`))

// cniConfig is the pod network: a bridge in the node's namespace, addresses from
// PodCIDR. No masquerading: pods have nowhere outside to go.
var cniConfig = template.Must(template.New("cni").Parse(`{
  "cniVersion": "1.0.0",
  "name": "tandem",
  "plugins": [{
    "type": "bridge",
    "bridge": "cni0",
    "isGateway": true,
    "ipMasq": false,
    "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "dataDir": "{{.Files.CNIIPAM}}",
      "ranges": [[{"subnet": "{{.PodCIDR}}"}]],
      "routes": [{"dst": "0.0.0.0/0"}]
    }
  }]
}
`))

// kubeletConfig is what a kubeadm node would have, minus what this host cannot give:
// cgroup v1 is accepted, swap is tolerated, images are never garbage-collected (they
// cannot be pulled back), and pods get no resolv.conf (there is no DNS to reach).
var kubeletConfig = template.Must(template.New("kubelet").Parse(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {{.IP}}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: "{{.CA}}"}
authorization: {mode: AlwaysAllow}
tlsCertFile: "{{.Files.ServingCert}}"
tlsPrivateKeyFile: "{{.Files.ServingKey}}"
containerRuntimeEndpoint: "unix://{{.Files.Socket}}"
cgroupDriver: cgroupfs
cgroupRoot: "{{.CgroupRoot}}"
failCgroupV1: false
failSwapOn: false
resolvConf: ""
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 50Mi, nodefs.available: 1%, nodefs.inodesFree: 1%, imagefs.available: 1%}
serializeImagePulls: false
rotateCertificates: false
staticPodPath: ""
# How soon a changed ConfigMap reaches a pod's volume (default 1m): the tests change
# Tandem's configuration in a running cluster and wait for it.
syncFrequency: 10s
# Beside the components' logs, so that a failed run keeps the containers' too.
podLogsDir: "{{.PodLogs}}"
`))

// kubeProxyConfig makes ClusterIPs work from pods and from the namespace, with
// iptables. The namespace's conntrack sysctls are read-only: kube-proxy must leave
// them alone (0 means "do not set").
var kubeProxyConfig = template.Must(template.New("kube-proxy").Parse(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: "{{.KubeProxyKubeconfig}}"
mode: iptables
clusterCIDR: "{{.PodCIDR}}"
hostnameOverride: "{{.NodeName}}"
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`))

// nodeConfig is what the templates are rendered with.
type nodeConfig struct {
	Files          nodeFiles
	IP, PodCIDR    string
	CA, CgroupRoot string
	Runc, CNIBin   string
	Sandbox        string
	PodLogs        string
	NodeName       string
	// KubeProxyKubeconfig is written by StartNode, before kube-proxy's configuration.
	KubeProxyKubeconfig string
}

// write renders the configuration files and makes the node's directories.
func (c nodeConfig) write() error {
	for _, dir := range []string{c.Files.CNIConf, c.Files.CNIIPAM, c.Files.KubeletRoot, c.PodLogs} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	files := map[string]*template.Template{
		c.Files.ContainerdConfig:                             containerdConfig,
		filepath.Join(c.Files.CNIConf, "10-tandem.conflist"): cniConfig,
		c.Files.KubeletConfig:                                kubeletConfig,
		c.Files.KubeProxyConfig:                              kubeProxyConfig,
	}
	for path, tmpl := range files {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		err = tmpl.Execute(f, c)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
