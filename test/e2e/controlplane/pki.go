package controlplane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the file paths of the credentials generated for one control
// plane. A single CA signs the API server's serving certificate and the
// client certificates: the controller manager hands the same CA to pods
// (root-ca-file), and tests only need to trust one certificate.
type pki struct {
	caPEM                   []byte
	caCert, caKey           string
	servingCert, servingKey string
	saKey, saPub            string
	admin, kcm              credentials
}

// credentials is a client certificate plus the PEM bytes needed to embed it
// in a kubeconfig.
type credentials struct{ certPEM, keyPEM []byte }

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// newPKI writes all certificates and keys into dir. ECDSA P-256 keeps key
// generation instantaneous; every component accepts it.
func newPKI(dir string) (*pki, error) {
	ca, err := issue(nil, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "tandem-e2e-ca"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	})
	if err != nil {
		return nil, err
	}
	serving, err := issue(ca, &x509.Certificate{
		Subject: pkix.Name{CommonName: "kube-apiserver"},
		// 10.0.0.1 is the `kubernetes` Service IP in 10.0.0.0/24.
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 0, 0, 1)},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default",
			"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return nil, err
	}
	// Both clients are in system:masters: with
	// --use-service-account-credentials=false every controller acts as the
	// controller manager's own user, which the bootstrap RBAC roles do not
	// fully cover. The distinct user name keeps audit/log lines readable.
	admin, err := clientCert(ca, "tandem-e2e-admin")
	if err != nil {
		return nil, err
	}
	kcm, err := clientCert(ca, "system:kube-controller-manager")
	if err != nil {
		return nil, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}

	p := &pki{
		caCert: filepath.Join(dir, "ca.crt"), caKey: filepath.Join(dir, "ca.key"),
		servingCert: filepath.Join(dir, "apiserver.crt"), servingKey: filepath.Join(dir, "apiserver.key"),
		saKey: filepath.Join(dir, "sa.key"), saPub: filepath.Join(dir, "sa.pub"),
		admin: admin, kcm: kcm, caPEM: certPEM(ca.cert),
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		p.caCert:      p.caPEM,
		p.caKey:       keyPEM(ca.key),
		p.servingCert: certPEM(serving.cert),
		p.servingKey:  keyPEM(serving.key),
		p.saKey:       keyPEM(saKey),
		p.saPub:       pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
	}
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func clientCert(ca *keyPair, user string) (credentials, error) {
	kp, err := issue(ca, &x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return credentials{}, err
	}
	return credentials{certPEM: certPEM(kp.cert), keyPEM: keyPEM(kp.key)}, nil
}

// issue fills in the boilerplate of tmpl and signs it with parent, or
// self-signs it when parent is nil.
func issue(parent *keyPair, tmpl *x509.Certificate) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	// Backdated to tolerate clock skew; long-lived enough for `make demo`.
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(365 * 24 * time.Hour)
	if tmpl.KeyUsage == 0 {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("controlplane: signing %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key}, nil
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		// Only fails for keys on unsupported curves; P-256 is supported.
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}
