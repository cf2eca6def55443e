package selfcert

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/tandem-io/tandem/internal/certs"
)

// The Secret's keys. tls.crt and tls.key are the names a kubernetes.io/tls Secret uses.
const (
	KeyCA         = "ca.crt"
	KeyCAKey      = "ca.key"
	KeyNextCA     = "ca-next.crt"
	KeyNextCAKey  = "ca-next.key"
	KeyNextSince  = "ca-next.since" // since when every caBundle entry has held the next CA, RFC 3339
	KeyPreviousCA = "ca-previous.crt"
	KeyCert       = "tls.crt"
	KeyKey        = "tls.key"
)

// Policy says what the certificates are for, how long they live and when they are renewed.
type Policy struct {
	// Hosts are the serving certificate's DNS names (the Service's) and IP addresses.
	Hosts []string
	// CAValidity and ServingValidity are how long new certificates are valid.
	CAValidity, ServingValidity time.Duration
	// CARenewBefore and ServingRenewBefore: a certificate this close to its expiry is
	// replaced. The CA's margin is also how long the old CA stays in the caBundle.
	CARenewBefore, ServingRenewBefore time.Duration
	// Propagation is how long a new CA sits in the caBundle before it signs what
	// Tandem serves: time for the API server to see the new caBundle, so that it never
	// meets a certificate it does not trust yet.
	Propagation time.Duration
}

// Validate reports every problem of the policy at once.
func (p Policy) Validate() error {
	var errs []error
	if len(p.Hosts) == 0 {
		errs = append(errs, errors.New("the serving certificate needs at least one host (the Service's DNS name)"))
	}
	if p.CARenewBefore <= 0 || p.CARenewBefore >= p.CAValidity {
		errs = append(errs, fmt.Errorf("the CA's renewal margin (%s) must be positive and shorter than its validity (%s)", p.CARenewBefore, p.CAValidity))
	}
	if p.Propagation < 0 || p.Propagation >= p.CARenewBefore {
		errs = append(errs, fmt.Errorf("the CA's propagation time (%s) must be shorter than its renewal margin (%s)", p.Propagation, p.CARenewBefore))
	}
	if p.ServingRenewBefore <= 0 || p.ServingRenewBefore >= p.ServingValidity {
		errs = append(errs, fmt.Errorf("the serving certificate's renewal margin (%s) must be positive and shorter than its validity (%s)", p.ServingRenewBefore, p.ServingValidity))
	}
	return errors.Join(errs...)
}

// Renew returns what the Secret must hold at now, given what it holds and the caBundle
// of every entry of the webhook configuration as last read: data itself when nothing is
// due, else new data and why, one reason per change, for the log. Data that does not
// parse (a garbage Secret) is replaced, never trusted.
//
// A CA due for renewal is replaced in two steps, so that the API server trusts a new CA
// before it meets a certificate the new CA signed: first the new CA joins the caBundle
// as the next one; once every entry's caBundle has been seen holding it for Propagation,
// it becomes the current one and signs a new serving certificate. The wait is counted
// from what the caBundle holds, not from the Secret: a caBundle that cannot be written
// keeps the old CA signing. The old CA stays in the caBundle as the previous one until it
// expires, for replicas that still serve what it signed.
func Renew(data map[string][]byte, now time.Time, p Policy, bundles [][]byte) (map[string][]byte, []string, error) {
	out := maps.Clone(data)
	if out == nil {
		out = map[string][]byte{}
	}
	var reasons []string
	note := func(reason string) { reasons = append(reasons, reason) }
	ca, err := certs.LoadCA(data[KeyCA], data[KeyCAKey])
	if err != nil {
		note("new CA: no usable CA in the Secret (" + err.Error() + ")")
		if ca, err = certs.NewCAAt("tandem-ca", now, p.CAValidity); err != nil {
			return nil, nil, err
		}
		out[KeyCA], out[KeyCAKey] = ca.CertPEM, ca.KeyPEM
		dropNext(out)
		delete(out, KeyPreviousCA) // no CA was rotated out for this one
	}
	if _, ok := out[KeyNextCA]; ok {
		if next := advanceNext(out, now, p, bundles, note); next != nil {
			note("the next CA is now the current one; the old CA stays in the caBundle until it expires")
			out[KeyPreviousCA] = ca.CertPEM
			out[KeyCA], out[KeyCAKey] = next.CertPEM, next.KeyPEM
			dropNext(out)
			ca = next
		}
	} else if ca.Certificate().NotAfter.Sub(now) < p.CARenewBefore {
		next, err := certs.NewCAAt("tandem-ca", now, p.CAValidity)
		if err != nil {
			return nil, nil, err
		}
		note(fmt.Sprintf("next CA: the CA expires at %s; the next one goes into the caBundle and signs %s after every entry holds it",
			ca.Certificate().NotAfter.UTC().Format(time.RFC3339), p.Propagation))
		out[KeyNextCA], out[KeyNextCAKey] = next.CertPEM, next.KeyPEM
	}
	if prev, ok := out[KeyPreviousCA]; ok {
		if why := untrustedPrevious(prev, ca, now, p); why != "" {
			note("the previous CA left the caBundle: " + why)
			delete(out, KeyPreviousCA)
		}
	}
	if due := servingDue(out, ca, now, p); due != "" {
		note("new serving certificate: " + due)
		pair, err := ca.IssueAt(p.Hosts, now, p.ServingValidity)
		if err != nil {
			return nil, nil, err
		}
		out[KeyCert], out[KeyKey] = pair.CertPEM, pair.KeyPEM
	}
	if len(reasons) == 0 {
		return data, nil, nil
	}
	return out, reasons, nil
}

// advanceNext moves the next CA along its wait and returns it when it is due to take
// over. The time it was first seen in every caBundle entry is recorded in the Secret, so
// that any replica, or one restarted, can promote it; the caBundles are checked again at
// each step, so a CA someone removed from an entry waits again from when it is back.
func advanceNext(out map[string][]byte, now time.Time, p Policy, bundles [][]byte, note func(string)) *certs.CA {
	next, err := certs.LoadCA(out[KeyNextCA], out[KeyNextCAKey])
	if err != nil {
		note("the next CA was dropped: " + err.Error())
		dropNext(out)
		return nil
	}
	_, recorded := out[KeyNextSince]
	since, err := time.Parse(time.RFC3339Nano, string(out[KeyNextSince]))
	switch {
	case !everyHolds(bundles, next.Certificate()):
		if recorded {
			note("the next CA is missing from the caBundle: it signs once every entry has held it again for " + p.Propagation.String())
			delete(out, KeyNextSince)
		}
	case err != nil:
		note(fmt.Sprintf("the next CA is in every caBundle entry: it signs from %s", now.Add(p.Propagation).UTC().Format(time.RFC3339)))
		out[KeyNextSince] = []byte(now.UTC().Format(time.RFC3339Nano))
	case !now.Before(since.Add(p.Propagation)):
		return next
	}
	return nil
}

func dropNext(data map[string][]byte) {
	delete(data, KeyNextCA)
	delete(data, KeyNextCAKey)
	delete(data, KeyNextSince)
}

// servingDue says why the serving certificate must be reissued, or "".
func servingDue(data map[string][]byte, ca *certs.CA, now time.Time, p Policy) string {
	pair, err := tls.X509KeyPair(data[KeyCert], data[KeyKey])
	if err != nil {
		return "no usable serving certificate in the Secret (" + err.Error() + ")"
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return "no usable serving certificate in the Secret (" + err.Error() + ")"
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now}); err != nil {
		return "the current CA does not verify it (" + err.Error() + ")"
	}
	if !slices.Equal(hosts(leaf), sorted(p.Hosts)) {
		return fmt.Sprintf("it is for %v, not %v", hosts(leaf), sorted(p.Hosts))
	}
	if leaf.NotAfter.Sub(now) < p.ServingRenewBefore {
		return "it expires at " + leaf.NotAfter.UTC().Format(time.RFC3339)
	}
	return ""
}

func hosts(leaf *x509.Certificate) []string {
	names := slices.Clone(leaf.DNSNames)
	for _, ip := range leaf.IPAddresses {
		names = append(names, ip.String())
	}
	return sorted(names)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
