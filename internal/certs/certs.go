package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// clockSkew backdates certificates, so that a host whose clock is a little behind the
// issuer's does not see them as not yet valid.
const clockSkew = time.Hour

// KeyPair is a certificate and its private key, PEM-encoded.
type KeyPair struct {
	CertPEM, KeyPEM []byte
}

// CA is a certificate authority. Its CertPEM is what clients trust: the caBundle of a
// webhook configuration, or a server's --client-ca-file.
type CA struct {
	KeyPair
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA creates a self-signed certificate authority valid for validity from now.
func NewCA(commonName string, validity time.Duration) (*CA, error) {
	return NewCAAt(commonName, time.Now(), validity)
}

// NewCAAt is NewCA as of now: valid from now (less the clock skew) for validity.
func NewCAAt(commonName string, now time.Time, validity time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl, err := template(commonName, now, validity)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return newCA(der, key)
}

// LoadCA reads back a CA written earlier, to sign more certificates with it.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("the CA certificate is not a PEM CERTIFICATE")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("the CA key is not PEM")
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the CA key: %w", err)
	}
	return newCA(block.Bytes, key)
}

func newCA(der []byte, key *ecdsa.PrivateKey) (*CA, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, errors.New("the certificate is not a CA")
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("the key does not belong to the CA certificate")
	}
	pair, err := encode(der, key)
	if err != nil {
		return nil, err
	}
	return &CA{KeyPair: pair, cert: cert, key: key}, nil
}

// Issue signs a serving certificate for hosts: DNS names (the webhook Service's
// name.namespace.svc) and IP addresses, which are told apart by their form. The first host
// is also the subject's common name.
func (ca *CA) Issue(hosts []string, validity time.Duration) (KeyPair, error) {
	return ca.IssueAt(hosts, time.Now(), validity)
}

// IssueAt is Issue as of now.
func (ca *CA) IssueAt(hosts []string, now time.Time, validity time.Duration) (KeyPair, error) {
	if len(hosts) == 0 {
		return KeyPair{}, errors.New("a serving certificate needs at least one DNS name or IP address")
	}
	tmpl, err := template(hosts[0], now, validity)
	if err != nil {
		return KeyPair{}, err
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	return ca.sign(tmpl)
}

// IssueClient signs a client certificate, such as the one an API server presents to a
// webhook that requires it. Kubernetes reads the groups of a client certificate's user
// from its organizations; without groups the organization is "Tandem".
func (ca *CA) IssueClient(commonName string, groups []string, validity time.Duration) (KeyPair, error) {
	tmpl, err := template(commonName, time.Now(), validity)
	if err != nil {
		return KeyPair{}, err
	}
	if len(groups) > 0 {
		tmpl.Subject.Organization = groups
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return ca.sign(tmpl)
}

func (ca *CA) sign(tmpl *x509.Certificate) (KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return KeyPair{}, err
	}
	return encode(der, key)
}

// template starts a certificate: subject, random serial, validity from an hour before now.
func template(commonName string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	if validity <= 0 {
		return nil, errors.New("validity must be positive")
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"Tandem"}},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(validity),
	}, nil
}

func encode(der []byte, key *ecdsa.PrivateKey) (KeyPair, error) {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// IssuedAt is when a certificate made by this package was issued: its NotBefore is
// backdated by the clock skew it allows for.
func IssuedAt(cert *x509.Certificate) time.Time { return cert.NotBefore.Add(clockSkew) }

// Certificate is the CA's parsed certificate: its validity and subject.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }
