package selfcert

import (
	"crypto/x509"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/tandem-io/tandem/internal/certs"
)

var policy = Policy{
	Hosts:      []string{"tandem.tandem-system.svc", "127.0.0.1"},
	CAValidity: 10 * time.Hour, CARenewBefore: 2 * time.Hour,
	ServingValidity: time.Hour, ServingRenewBefore: 20 * time.Minute,
	Propagation: 5 * time.Minute,
}

// fresh is what an empty Secret becomes.
func fresh(t *testing.T) map[string][]byte {
	t.Helper()
	data, reasons, err := Renew(nil, time.Now(), policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(reasons) != 2 {
		t.Fatalf("an empty Secret: reasons %q, want a new CA and a new serving certificate", reasons)
	}
	return data
}

// followed is what the two entries of a webhook configuration hold once the caBundle has
// followed data.
func followed(data map[string][]byte) [][]byte {
	return [][]byte{Bundle(data), Bundle(data)}
}

// verifies reports whether the caBundle of data trusts its serving certificate for host at now.
func verifies(t *testing.T, data map[string][]byte, host string, now time.Time) error {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(Bundle(data)) {
		t.Fatal("the caBundle holds no certificate")
	}
	leaf, err := parseCert(data[KeyCert])
	if err != nil {
		t.Fatal(err)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: now})
	return err
}

func TestAnEmptySecretGetsACAAndAServingCertificateForEveryHost(t *testing.T) {
	data := fresh(t)
	for _, host := range policy.Hosts {
		if err := verifies(t, data, host, time.Now()); err != nil {
			t.Errorf("the serving certificate does not verify for %s: %v", host, err)
		}
	}
	if _, ok := data[KeyPreviousCA]; ok {
		t.Error("a first CA has no previous one")
	}
}

func TestNothingIsDueChangesNothing(t *testing.T) {
	data := fresh(t)
	again, reasons, err := Renew(data, time.Now().Add(10*time.Minute), policy, followed(data))
	if err != nil || len(reasons) != 0 || !maps.EqualFunc(again, data, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("renewing fresh certificates: reasons %q, error %v; want no change", reasons, err)
	}
}

func TestWhatIsReplacedAndWhy(t *testing.T) {
	other, err := certs.NewCA("someone-else", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Issue(policy.Hosts, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		change     func(map[string][]byte)
		after      time.Duration // from now
		want       []string      // reason prefixes, in order
		sameCA     bool
		keepsOldCA bool
	}{
		"a garbage Secret is replaced whole, a previous CA in it too": {
			change: func(d map[string][]byte) {
				d[KeyCA], d[KeyCert], d[KeyPreviousCA] = []byte("garbage"), []byte("garbage"), mustCA(t, d).CertPEM
			},
			want: []string{"new CA: no usable CA", "new serving certificate: no usable serving certificate"},
		},
		"a CA without its key is replaced": {
			change: func(d map[string][]byte) { delete(d, KeyCAKey) },
			want:   []string{"new CA: no usable CA", "new serving certificate: the current CA does not verify it"},
		},
		"a serving certificate near its expiry is reissued by the same CA": {
			after:  45 * time.Minute,
			want:   []string{"new serving certificate: it expires at"},
			sameCA: true,
		},
		"a serving certificate for other hosts is reissued": {
			change: func(d map[string][]byte) {
				pair, _ := mustCA(t, d).Issue([]string{"old.example.svc"}, time.Hour)
				d[KeyCert], d[KeyKey] = pair.CertPEM, pair.KeyPEM
			},
			want:   []string{"new serving certificate: it is for [old.example.svc]"},
			sameCA: true,
		},
		"a serving certificate another CA signed is reissued": {
			change: func(d map[string][]byte) { d[KeyCert], d[KeyKey] = foreign.CertPEM, foreign.KeyPEM },
			want:   []string{"new serving certificate: the current CA does not verify it"},
			sameCA: true,
		},
		"a CA near its expiry gets a next one, which signs nothing yet": {
			change: func(d map[string][]byte) { // the serving certificate was renewed a minute ago
				pair, _ := mustCA(t, d).IssueAt(policy.Hosts, time.Now().Add(9*time.Hour-time.Minute), policy.ServingValidity)
				d[KeyCert], d[KeyKey] = pair.CertPEM, pair.KeyPEM
			},
			after:  9 * time.Hour,
			want:   []string{"next CA: the CA expires at"},
			sameCA: true,
		},
		"an unusable next CA is dropped": {
			change: func(d map[string][]byte) { d[KeyNextCA], d[KeyNextCAKey] = []byte("garbage"), []byte("garbage") },
			want:   []string{"the next CA was dropped"},
			sameCA: true,
		},
		"a stale previous CA leaves the caBundle": {
			change: func(d map[string][]byte) { d[KeyPreviousCA] = []byte("garbage") },
			want:   []string{"the previous CA left the caBundle"},
			sameCA: true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			data := fresh(t)
			before := maps.Clone(data)
			if tc.change != nil {
				tc.change(data)
			}
			now := time.Now().Add(tc.after)
			bundles := followed(data)
			got, reasons, err := Renew(data, now, policy, bundles)
			if err != nil {
				t.Fatal(err)
			}
			if len(reasons) != len(tc.want) {
				t.Fatalf("reasons %q, want %d starting %q", reasons, len(tc.want), tc.want)
			}
			for i, want := range tc.want {
				if !strings.HasPrefix(reasons[i], want) {
					t.Errorf("reason %d is %q, want it to start %q", i, reasons[i], want)
				}
			}
			if same := string(got[KeyCA]) == string(before[KeyCA]); same != tc.sameCA {
				t.Errorf("the CA was kept: %v, want %v", same, tc.sameCA)
			}
			if kept := string(got[KeyPreviousCA]) == string(before[KeyCA]); kept != tc.keepsOldCA {
				t.Errorf("the old CA is the previous one: %v, want %v", kept, tc.keepsOldCA)
			}
			if err := verifies(t, got, policy.Hosts[0], now); err != nil {
				t.Errorf("the renewed Secret's serving certificate does not verify: %v", err)
			}
			if again, reasons, _ := Renew(got, now, policy, bundles); len(reasons) != 0 || string(again[KeyCert]) != string(got[KeyCert]) {
				t.Errorf("renewing twice changed more: %q", reasons)
			}
		})
	}
}

// Through a CA rotation the caBundle trusts, at every step, both what a replica that has
// not caught up serves and what one that has serves: the next CA is trusted before it
// signs, and the old one stays trusted after it stops signing.
func TestACARotationKeepsEveryServedCertificateTrusted(t *testing.T) {
	start := time.Now()
	// Just before the CA's renewal, the replicas got a serving certificate from the old CA.
	old, _, err := Renew(fresh(t), start.Add(7*time.Hour+50*time.Minute), policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	step := func(data map[string][]byte, at time.Duration, want string) map[string][]byte {
		t.Helper()
		got, reasons, err := Renew(data, start.Add(at), policy, followed(data))
		if err != nil || len(reasons) == 0 || !strings.HasPrefix(reasons[0], want) {
			t.Fatalf("at %s: reasons %q, error %v; want %q first", at, reasons, err, want)
		}
		for name, cert := range map[string][]byte{"the old serving certificate": old[KeyCert], "the current one": got[KeyCert]} {
			stillServing := maps.Clone(got)
			stillServing[KeyCert] = cert
			if err := verifies(t, stillServing, policy.Hosts[0], start.Add(at)); err != nil {
				t.Errorf("at %s the caBundle rejects %s: %v", at, name, err)
			}
		}
		return got
	}
	withNext := step(old, 8*time.Hour+10*time.Minute, "next CA")
	if string(withNext[KeyCert]) != string(old[KeyCert]) {
		t.Error("the next CA signed a certificate before its propagation time")
	}
	next, err := certs.LoadCA(withNext[KeyNextCA], withNext[KeyNextCAKey])
	if err != nil {
		t.Fatal(err)
	}
	seen := step(withNext, 8*time.Hour+11*time.Minute, "the next CA is in every caBundle entry")
	if again, reasons, _ := Renew(seen, start.Add(8*time.Hour+15*time.Minute), policy, followed(seen)); len(reasons) != 0 || string(again[KeyNextCA]) != string(withNext[KeyNextCA]) {
		t.Errorf("before its propagation time, the next CA must wait: %q", reasons)
	}
	promoted := step(seen, 8*time.Hour+16*time.Minute, "the next CA is now the current one")
	if string(promoted[KeyCA]) != string(next.CertPEM) || string(promoted[KeyPreviousCA]) != string(old[KeyCA]) {
		t.Error("the promotion did not make the next CA current and the old one previous")
	}
	later, reasons, err := Renew(promoted, start.Add(10*time.Hour+time.Minute), policy, followed(promoted))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := later[KeyPreviousCA]; ok || len(reasons) == 0 || !strings.HasPrefix(reasons[0], "the previous CA left the caBundle: it expired") {
		t.Errorf("once expired, the previous CA must leave: reasons %q", reasons)
	}
}

func TestPolicyValidation(t *testing.T) {
	err := Policy{CAValidity: time.Hour, CARenewBefore: 2 * time.Hour, ServingValidity: time.Hour}.Validate()
	for _, want := range []string{"at least one host", "the CA's renewal margin (2h0m0s) must be positive and shorter than its validity (1h0m0s)",
		"the serving certificate's renewal margin (0s) must be positive"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; want it to say %q", err, want)
		}
	}
	if err := policy.Validate(); err != nil {
		t.Errorf("a sound policy: %v", err)
	}
}

func mustCA(t *testing.T, data map[string][]byte) *certs.CA {
	t.Helper()
	ca, err := certs.LoadCA(data[KeyCA], data[KeyCAKey])
	if err != nil {
		t.Fatal(err)
	}
	return ca
}
