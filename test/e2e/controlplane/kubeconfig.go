package controlplane

import (
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tandem-io/tandem/internal/certs"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes a self-contained kubeconfig (credentials embedded,
// no file references) for the API server into Dir, so it stays valid when
// copied or handed to another process.
func (cp *ControlPlane) writeKubeconfig(file string, caPEM []byte, c certs.KeyPair) (string, error) {
	const name = "tandem-e2e" // cluster, user and context
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: cp.APIServerURL, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: c.CertPEM, ClientKeyData: c.KeyPEM}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	path := filepath.Join(cp.Dir, file)
	return path, clientcmd.WriteToFile(*cfg, path)
}

// restConfig loads a kubeconfig the way every other client will, so the
// tests exercise the file they hand out.
func restConfig(kubeconfigPath string) (*rest.Config, error) {
	data, err := os.ReadFile(kubeconfigPath)
	if err != nil {
		return nil, err
	}
	return clientcmd.RESTConfigFromKubeConfig(data)
}
