package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestServeRaisesTheGCTargetUnlessGOGCIsSet(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	if v, ok := os.LookupEnv("GOGC"); ok {
		t.Cleanup(func() { os.Setenv("GOGC", v) })
	}
	os.Unsetenv("GOGC")
	if got := tuneGC(); got != defaultGCPercent || debug.SetGCPercent(100) != defaultGCPercent {
		t.Fatalf("without GOGC: tuneGC says %d; want %d in effect", got, defaultGCPercent)
	}

	// The operator's GOGC is what the runtime read at start; tuneGC must leave it alone.
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150)
	if got := tuneGC(); got != 150 || debug.SetGCPercent(150) != 150 {
		t.Fatalf("with GOGC=150: tuneGC says %d and changed the percent", got)
	}
}

// Certificate flags that cannot work are refused before anything starts, each with what
// to do instead. (--kubeconfig names a file that parses, so that only the certificate
// flags are wrong.)
func TestServeRefusesCertificateFlagsThatCannotWork(t *testing.T) {
	kubeconfig := writeKubeconfig(t)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no certificate at all": {nil, "--certificates files needs --tls-cert-file and --tls-key-file"},
		"an unknown mode":       {[]string{"--certificates", "vault"}, `--certificates must be files or self, not "vault"`},
		"self without a cluster": {[]string{"--certificates", "self", "--certificate-secret", "ns/s", "--certificate-hosts", "a.b.svc"},
			"--certificates self needs a cluster"},
		"self with a bare secret name": {[]string{"--certificates", "self", "--kubeconfig", kubeconfig, "--certificate-secret", "tandem-certs"},
			`--certificate-secret must be NAMESPACE/NAME, not "tandem-certs"`},
		"self with files too": {[]string{"--certificates", "self", "--kubeconfig", kubeconfig, "--certificate-secret", "ns/s", "--tls-cert-file", "x"},
			"--certificates self writes the serving files itself"},
		"self without hosts": {[]string{"--certificates", "self", "--kubeconfig", kubeconfig, "--certificate-secret", "ns/s"},
			"the serving certificate needs at least one host"},
		"self with a margin longer than the validity": {[]string{"--certificates", "self", "--kubeconfig", kubeconfig, "--certificate-secret", "ns/s",
			"--certificate-hosts", "a.b.svc", "--serving-validity", "1h", "--serving-renew-before", "2h"},
			"the serving certificate's renewal margin (2h0m0s) must be positive and shorter than its validity (1h0m0s)"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := run(t, "", append([]string{"serve", "--config", "builtin:example"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// writeKubeconfig writes a kubeconfig that parses, of a cluster nobody serves.
func writeKubeconfig(t *testing.T) string {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}
