package e2e

import (
	"crypto/tls"

	"github.com/tandem-io/tandem/internal/certs"
)

func tlsPair(p certs.KeyPair) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
