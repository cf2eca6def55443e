package webhook

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
)

// certReloader serves the certificate and key files as they are now: it reloads them when
// they change (watchFiles calls reload), so a rotated certificate is served without a
// restart. A pair that fails to load (a half-written rotation, a key that does not match)
// is logged and the previous certificate keeps serving.
//
// It does what controller-runtime's certwatcher does, through the same watchFiles as the
// configuration: certwatcher logs through controller-runtime's process-wide logger and
// counts on its process-wide metrics registry, and watches the files rather than their
// directory.
type certReloader struct {
	certFile, keyFile string
	current           atomic.Pointer[tls.Certificate]
	metrics           *metrics
	log               *slog.Logger
	last              fingerprint
}

// reload loads the pair if it changed since the last attempt. It is called from one
// goroutine at a time.
func (c *certReloader) reload() error {
	certPEM, err := os.ReadFile(c.certFile)
	var keyPEM []byte
	if err == nil {
		keyPEM, err = os.ReadFile(c.keyFile)
	}
	fp := fingerprintOf(err, certPEM, keyPEM)
	if fp == c.last {
		return nil
	}
	c.last = fp
	var cert tls.Certificate
	if err == nil {
		cert, err = tls.X509KeyPair(certPEM, keyPEM)
	}
	if err == nil && cert.Leaf == nil { // X509KeyPair leaves it out under GODEBUG=x509keypairleaf=0
		cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0])
	}
	if err != nil {
		err = fmt.Errorf("loading the serving certificate %s and key %s: %w", c.certFile, c.keyFile, err)
		if c.current.Load() != nil {
			c.log.Error("certificate rejected; the previous one keeps serving", "error", err.Error())
		}
		return err
	}
	c.current.Store(&cert)
	c.metrics.certExpiry.WithLabelValues("serving").Set(float64(cert.Leaf.NotAfter.Unix()))
	c.log.Info("serving certificate loaded", "file", c.certFile, "subject", cert.Leaf.Subject.String(),
		"dnsNames", cert.Leaf.DNSNames, "notAfter", cert.Leaf.NotAfter)
	return nil
}

func (c *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.current.Load(), nil
}

// clientCAReloader keeps the CA that client certificates must chain to loaded from its
// file, like certReloader: the API server's client CA can be rotated (a cert-manager
// issuer renewing, say) without restarting Tandem. A file that does not load is logged
// and the previous CA keeps being required.
type clientCAReloader struct {
	file    string
	base    *tls.Config // the server's configuration, without client authentication
	current atomic.Pointer[tls.Config]
	log     *slog.Logger
	last    fingerprint
}

// reload loads the CA file if it changed since the last attempt. It is called from one
// goroutine at a time.
func (c *clientCAReloader) reload() error {
	pem, err := os.ReadFile(c.file)
	fp := fingerprintOf(err, pem)
	if fp == c.last {
		return nil
	}
	c.last = fp
	pool := x509.NewCertPool()
	if err == nil && !pool.AppendCertsFromPEM(pem) {
		err = errors.New("it holds no PEM certificate")
	}
	if err != nil {
		err = fmt.Errorf("loading the client CA %s: %w", c.file, err)
		if c.current.Load() != nil {
			c.log.Error("client CA rejected; the previous one is still required", "error", err.Error())
		}
		return err
	}
	cfg := c.base.Clone()
	cfg.ClientCAs = pool
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	c.current.Store(cfg)
	c.log.Info("client CA loaded; clients must present a certificate it signed", "file", c.file)
	return nil
}

// configForClient hands each handshake the configuration with the current client CA.
func (c *clientCAReloader) configForClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	return c.current.Load(), nil
}

// serverTLS is the webhook's TLS configuration. TLS 1.2 is the minimum the API server and
// current guidance accept. HTTP/2 is offered only when asked for: the API server speaks
// HTTP/1.1 to webhooks well, and HTTP/2 servers have been the target of resource
// exhaustion attacks (rapid reset, CVE-2023-44487). With a client CA file, every
// handshake requires a client certificate signed by the CA as the file holds it now.
func serverTLS(certs *certReloader, clientCAFile string, http2 bool, log *slog.Logger) (*tls.Config, *clientCAReloader, error) {
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: certs.getCertificate,
		NextProtos:     []string{"http/1.1"},
	}
	if http2 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	if clientCAFile == "" {
		return cfg, nil, nil
	}
	clientCA := &clientCAReloader{file: clientCAFile, base: cfg.Clone(), log: log}
	if err := clientCA.reload(); err != nil {
		return nil, nil, err
	}
	// The outer configuration requires a client certificate too, in case a handshake
	// ever gets past GetConfigForClient without its answer.
	first := clientCA.current.Load()
	cfg.ClientCAs, cfg.ClientAuth = first.ClientCAs, first.ClientAuth
	cfg.GetConfigForClient = clientCA.configForClient
	return cfg, clientCA, nil
}
