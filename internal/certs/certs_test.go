package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA("tandem-test-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func parse(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatalf("not PEM: %q", certPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func pool(t *testing.T, ca *CA) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(ca.CertPEM) {
		t.Fatal("the CA certificate does not load into a pool")
	}
	return p
}

func TestServingCertificateVerifiesForItsHostsOnly(t *testing.T) {
	ca := testCA(t)
	pair, err := ca.Issue([]string{"tandem.tandem-system.svc", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM); err != nil {
		t.Fatalf("the pair does not load: %v", err)
	}
	cert := parse(t, pair.CertPEM)
	tests := map[string]struct {
		host  string
		valid bool
	}{
		"the service DNS name verifies":  {host: "tandem.tandem-system.svc", valid: true},
		"the IP address verifies":        {host: "127.0.0.1", valid: true},
		"another DNS name is refused":    {host: "evil.example.com", valid: false},
		"another IP address is refused":  {host: "10.0.0.1", valid: false},
		"a parent domain is not covered": {host: "tandem-system.svc", valid: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := cert.Verify(x509.VerifyOptions{DNSName: tc.host, Roots: pool(t, ca)})
			if (err == nil) != tc.valid {
				t.Errorf("verifying for %s: err = %v, want valid = %v", tc.host, err, tc.valid)
			}
		})
	}
}

func TestServingCertificateIsNotTrustedByAnotherCA(t *testing.T) {
	pair, err := testCA(t).Issue([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parse(t, pair.CertPEM).Verify(x509.VerifyOptions{DNSName: "localhost", Roots: pool(t, testCA(t))}); err == nil {
		t.Fatal("a certificate verified against a CA that did not sign it")
	}
}

func TestCertificatesAreECDSAWithTheRightUsages(t *testing.T) {
	ca := testCA(t)
	serving, err := ca.Issue([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.IssueClient("kube-apiserver", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		pem   []byte
		isCA  bool
		usage x509.ExtKeyUsage
	}{
		"the CA can sign and serves no one":  {pem: ca.CertPEM, isCA: true},
		"the serving certificate serves":     {pem: serving.CertPEM, usage: x509.ExtKeyUsageServerAuth},
		"the client certificate is a client": {pem: client.CertPEM, usage: x509.ExtKeyUsageClientAuth},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cert := parse(t, tc.pem)
			if cert.PublicKeyAlgorithm != x509.ECDSA {
				t.Errorf("key algorithm %v, want ECDSA", cert.PublicKeyAlgorithm)
			}
			if cert.IsCA != tc.isCA {
				t.Errorf("IsCA = %v, want %v", cert.IsCA, tc.isCA)
			}
			if !tc.isCA && (len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != tc.usage) {
				t.Errorf("extended key usage %v, want [%v]", cert.ExtKeyUsage, tc.usage)
			}
			if time.Until(cert.NotAfter) > time.Hour || time.Until(cert.NotAfter) < 50*time.Minute {
				t.Errorf("NotAfter %v is not an hour from now", cert.NotAfter)
			}
		})
	}
}

func TestLoadedCASignsCertificatesTheOriginalVerifies(t *testing.T) {
	ca := testCA(t)
	loaded, err := LoadCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := loaded.Issue([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parse(t, pair.CertPEM).Verify(x509.VerifyOptions{DNSName: "localhost", Roots: pool(t, ca)}); err != nil {
		t.Fatalf("a certificate from the reloaded CA does not verify: %v", err)
	}
}

func TestLoadCARefusesWhatIsNotACA(t *testing.T) {
	ca, other := testCA(t), testCA(t)
	leaf, err := ca.Issue([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		cert, key []byte
		want      string
	}{
		"a key of another CA":         {cert: ca.CertPEM, key: other.KeyPEM, want: "does not belong"},
		"a serving certificate":       {cert: leaf.CertPEM, key: leaf.KeyPEM, want: "not a CA"},
		"a key where the cert should": {cert: ca.KeyPEM, key: ca.KeyPEM, want: "not a PEM CERTIFICATE"},
		"garbage as the key":          {cert: ca.CertPEM, key: []byte("nope"), want: "not PEM"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := LoadCA(tc.cert, tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestIssueRefusesBadRequests(t *testing.T) {
	ca := testCA(t)
	if _, err := ca.Issue(nil, time.Hour); err == nil {
		t.Error("a certificate without hosts was issued")
	}
	if _, err := ca.Issue([]string{"localhost"}, 0); err == nil {
		t.Error("a certificate without validity was issued")
	}
	if _, err := NewCA("ca", -time.Hour); err == nil {
		t.Error("a CA with negative validity was created")
	}
}

func TestWriteFilesReplacesThePairWithRestrictedKey(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca := testCA(t)
	for i := range 2 { // the second write replaces the first
		pair, err := ca.Issue([]string{"localhost"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := pair.WriteFiles(certFile, keyFile); err != nil {
			t.Fatal(err)
		}
		if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			t.Fatalf("write %d: the files do not load as a pair: %v", i, err)
		}
		if got, _ := os.ReadFile(certFile); string(got) != string(pair.CertPEM) {
			t.Fatalf("write %d: the certificate file holds something else", i)
		}
	}
	for file, want := range map[string]os.FileMode{certFile: 0o644, keyFile: 0o600} {
		info, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", filepath.Base(file), info.Mode().Perm(), want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("the directory holds %d entries, want the 2 files and no temporary leftovers", len(entries))
	}
}

func TestWriteFileFailsInAMissingDirectory(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "missing", "tls.crt"), []byte("x"), 0o644); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}
