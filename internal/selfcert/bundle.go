package selfcert

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/tandem-io/tandem/internal/certs"
)

// Bundle is the caBundle for data: the current CA, the next one while it waits to take
// over, and the previous one while what it signed may still be served.
func Bundle(data map[string][]byte) []byte {
	var b []byte
	for _, key := range []string{KeyCA, KeyNextCA, KeyPreviousCA} {
		if pemBytes := bytes.TrimSpace(data[key]); len(pemBytes) > 0 {
			b = append(append(b, pemBytes...), '\n')
		}
	}
	return b
}

// everyHolds reports whether each caBundle holds cert. No caBundle at all (the
// configuration was not read, or has no entry) holds nothing.
func everyHolds(bundles [][]byte, cert *x509.Certificate) bool {
	if len(bundles) == 0 {
		return false
	}
	for _, bundle := range bundles {
		if !holds(bundle, cert) {
			return false
		}
	}
	return true
}

func holds(bundle []byte, cert *x509.Certificate) bool {
	for block, rest := pem.Decode(bundle); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" && bytes.Equal(block.Bytes, cert.Raw) {
			return true
		}
	}
	return false
}

// everyTrusts reports whether each caBundle verifies the serving certificate certPEM at
// now: what the API server would accept from a replica serving it.
func everyTrusts(bundles [][]byte, certPEM []byte, now time.Time) bool {
	leaf, err := parseCert(certPEM)
	if err != nil || len(bundles) == 0 {
		return false
	}
	for _, bundle := range bundles {
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(bundle) {
			return false
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now}); err != nil {
			return false
		}
	}
	return true
}

// untrustedPrevious says why the previous CA in the Secret must leave the caBundle, or "".
// Only a CA that Tandem rotated out may stay: Tandem makes the next CA when the current
// one has less than CARenewBefore left, so the CA it replaced expires within
// CARenewBefore of the current CA's issue. Anything else found under that key (a CA
// someone planted, valid for a hundred years) is never trusted, and one that fits the
// window is trusted at most until the window closes.
func untrustedPrevious(pemBytes []byte, current *certs.CA, now time.Time, p Policy) string {
	prev, err := parseCert(pemBytes)
	switch {
	case err != nil:
		return err.Error()
	case !prev.IsCA:
		return "it is not a CA"
	case !now.Before(prev.NotAfter):
		return "it expired at " + prev.NotAfter.UTC().Format(time.RFC3339)
	}
	if latest := certs.IssuedAt(current.Certificate()).Add(p.CARenewBefore); prev.NotAfter.After(latest) {
		return fmt.Sprintf("it expires at %s, after %s: Tandem did not rotate it out",
			prev.NotAfter.UTC().Format(time.RFC3339), latest.UTC().Format(time.RFC3339))
	}
	return ""
}

func parseCert(pemBytes []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}
