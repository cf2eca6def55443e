package controlplane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"time"

	"github.com/tandem-io/tandem/internal/certs"
)

// validity is long enough for any test run or `make demo` session.
const validity = 365 * 24 * time.Hour

// pki holds the file paths of the credentials generated for one control
// plane. A single CA signs the API server's serving certificate and the
// client certificates: the controller manager hands the same CA to pods
// (root-ca-file), and tests only need to trust one certificate.
type pki struct {
	ca                      *certs.CA // signs the node's certificates too
	caPEM                   []byte
	caCert, caKey           string
	servingCert, servingKey string
	saKey, saPub            string
	// kubeletClientCert and kubeletClientKey are what the API server presents to a
	// kubelet (logs, exec); kubelets trust the same CA.
	kubeletClientCert, kubeletClientKey string
	admin, kcm                          certs.KeyPair
}

// newPKI writes all certificates and keys into dir, using the same certificate code as
// Tandem itself (internal/certs).
func newPKI(dir, address string) (*pki, error) {
	ca, err := certs.NewCA("tandem-e2e-ca", validity)
	if err != nil {
		return nil, err
	}
	// 10.0.0.1 is the `kubernetes` Service IP in 10.0.0.0/24.
	serving, err := ca.Issue([]string{address, "127.0.0.1", "10.0.0.1", "localhost", "kubernetes", "kubernetes.default",
		"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}, validity)
	if err != nil {
		return nil, err
	}
	// Both clients are in system:masters: with
	// --use-service-account-credentials=false every controller acts as the
	// controller manager's own user, which the bootstrap RBAC roles do not
	// fully cover. The distinct user name keeps audit/log lines readable.
	masters := []string{"system:masters"}
	admin, err := ca.IssueClient("tandem-e2e-admin", masters, validity)
	if err != nil {
		return nil, err
	}
	kcm, err := ca.IssueClient("system:kube-controller-manager", masters, validity)
	if err != nil {
		return nil, err
	}
	kubeletClient, err := ca.IssueClient("kube-apiserver-kubelet-client", masters, validity)
	if err != nil {
		return nil, err
	}
	saKey, saPub, err := serviceAccountKeys()
	if err != nil {
		return nil, err
	}
	p := &pki{
		caCert: filepath.Join(dir, "ca.crt"), caKey: filepath.Join(dir, "ca.key"),
		servingCert: filepath.Join(dir, "apiserver.crt"), servingKey: filepath.Join(dir, "apiserver.key"),
		saKey: filepath.Join(dir, "sa.key"), saPub: filepath.Join(dir, "sa.pub"),
		kubeletClientCert: filepath.Join(dir, "apiserver-kubelet-client.crt"),
		kubeletClientKey:  filepath.Join(dir, "apiserver-kubelet-client.key"),
		admin:             admin, kcm: kcm, ca: ca, caPEM: ca.CertPEM,
	}
	files := map[string][]byte{
		p.caCert: ca.CertPEM, p.caKey: ca.KeyPEM,
		p.servingCert: serving.CertPEM, p.servingKey: serving.KeyPEM,
		p.saKey: saKey, p.saPub: saPub,
		p.kubeletClientCert: kubeletClient.CertPEM, p.kubeletClientKey: kubeletClient.KeyPEM,
	}
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// serviceAccountKeys makes the key pair that signs and verifies service account tokens.
func serviceAccountKeys() (private, public []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), nil
}
