package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// runAuditCLI runs the command line in-process and returns the exit status audit ends
// the process with, or -1 when it does not end it itself.
func runAuditCLI(t *testing.T, args ...string) (code int, stderr string, err error) {
	t.Helper()
	code = -1
	_, stderr, err = run(t, "", append([]string{"audit"}, args...)...)
	var status *exitStatus
	if errors.As(err, &status) {
		code = status.code
	}
	return code, stderr, err
}

// What keeps audit from answering ends it with status 2, never main's 1, which means
// "some pods need a restart".
func TestAuditExitsWith2WhenItCannotSay(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	kubeconfig := writeKubeconfig(t)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"an unknown flag":           {[]string{"--bogus"}, "unknown flag: --bogus"},
		"an argument":               {[]string{"shop"}, `audit takes no arguments, got ["shop"]`},
		"an unknown output":         {[]string{"-o", "xml"}, `--output must be one of text, json, yaml, not "xml"`},
		"no configuration":          {[]string{"-n", "shop"}, "no --config: against a cluster, tandem audit needs the configuration the cluster runs; give --config FILE, or --config builtin:example"},
		"a namespace and all":       {[]string{"-n", "shop", "-A"}, "--namespace and --all-namespaces exclude each other"},
		"a configuration not there": {[]string{"--config", missing}, missing},
		"a kubeconfig that is not":  {[]string{"--config", "builtin:example", "--kubeconfig", missing}, "kubeconfig"},
		"a context that is not":     {[]string{"--config", "builtin:example", "--kubeconfig", kubeconfig, "--context", "elsewhere"}, `context "elsewhere" does not exist`},
	} {
		t.Run(name, func(t *testing.T) {
			code, stderr, err := runAuditCLI(t, tc.args...)
			if code != 2 || err == nil {
				t.Fatalf("exit status %d, error %v; want 2 and an error", code, err)
			}
			if !strings.HasPrefix(stderr, "tandem: ") || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q, want it to say %q", stderr, tc.want)
			}
		})
	}
}

// Audit and rollout flags of serve that cannot work are refused before anything starts.
func TestServeRefusesAuditFlagsThatCannotWork(t *testing.T) {
	kubeconfig := writeKubeconfig(t)
	certs := []string{"--tls-cert-file", "tls.crt", "--tls-key-file", "tls.key", "--config", "builtin:example"}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"a negative interval":   {[]string{"--audit-interval", "-1m", "--kubeconfig", kubeconfig}, "--audit-interval must not be negative"},
		"no cluster":            {[]string{"--audit-interval", "1m"}, "--audit-interval needs a cluster"},
		"a bare Lease name":     {[]string{"--audit-interval", "1m", "--kubeconfig", kubeconfig, "--audit-lease", "tandem-audit"}, `--audit-lease must be NAMESPACE/NAME, not "tandem-audit"`},
		"a Lease name too deep": {[]string{"--audit-interval", "1m", "--kubeconfig", kubeconfig, "--audit-lease", "a/b/c"}, `--audit-lease must be NAMESPACE/NAME, not "a/b/c"`},
		"rollout, no cluster":   {[]string{"--rollout"}, "--rollout needs a cluster"},
		"rollout, a bare Lease": {[]string{"--rollout", "--kubeconfig", kubeconfig, "--audit-lease", "x"}, `--audit-lease must be NAMESPACE/NAME, not "x"`},
		"rollout, zero unavailable": {[]string{"--rollout", "--kubeconfig", kubeconfig, "--audit-lease", "a/b", "--rollout-max-unavailable", "0"},
			`--rollout-max-unavailable must be a count of pods (1, 2, …) or a percentage of an owner's pods (1% to 100%), not "0"`},
		"rollout, a zero interval": {[]string{"--rollout", "--kubeconfig", kubeconfig, "--audit-lease", "a/b", "--rollout-interval", "0s"},
			"--rollout-interval and --rollout-timeout must be positive, not 0s and 5m0s"},
		"a rollout flag without --rollout": {[]string{"--kubeconfig", kubeconfig, "--rollout-restart"}, "--rollout-restart does nothing without --rollout"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := run(t, "", append(append([]string{"serve"}, certs...), tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestAuditLeaseDefaultsToThePodsNamespace(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "tandem-system")
	for flag, want := range map[string][2]string{
		"":                  {"tandem-system", "tandem-audit"},
		"infra/tandem-lead": {"infra", "tandem-lead"},
	} {
		ns, name, err := auditLease(flag)
		if err != nil || ns != want[0] || name != want[1] {
			t.Errorf("auditLease(%q) = %q, %q, %v; want %q, %q", flag, ns, name, err, want[0], want[1])
		}
	}
}

// The audit reads the installed controller's settings from its Deployment's command line
// with serve's own flags.
func TestServeSettings(t *testing.T) {
	for name, tc := range map[string]struct {
		argv    []string
		on      bool
		want    string
		wantErr string
	}{
		"the chart's": {argv: []string{"serve", "--config=/etc/tandem/config.yaml", "--audit-lease=tandem-system/tandem-audit", "--rollout",
			"--rollout-in-place=true", "--rollout-restart=true", "--rollout-missing=false", "--rollout-max-unavailable=25%", "--rollout-interval=1m"},
			on: true, want: "in place on, restarts on, missing off, 25% of an owner's pods at a time, a step every 1m0s"},
		"defaults":      {argv: []string{"tandem", "serve", "--rollout"}, on: true, want: "in place on, restarts off, missing off, 1 pod at a time, a step every 30s"},
		"paused":        {argv: []string{"serve", "--rollout", "--rollout-paused"}, on: true, want: "in place on, restarts off, missing off, 1 pod at a time, a step every 30s, paused by --rollout-paused"},
		"no rollout":    {argv: []string{"serve", "--config=x"}},
		"not serve":     {argv: []string{"nginx", "-g", "daemon off;"}},
		"unknown flags": {argv: []string{"serve", "--no-such-flag"}},
		"a bad max":     {argv: []string{"serve", "--rollout", "--rollout-max-unavailable=0"}, wantErr: "--rollout-max-unavailable must be"},
	} {
		t.Run(name, func(t *testing.T) {
			s, on, err := serveSettings(tc.argv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || on != tc.on || on && s.String() != tc.want {
				t.Errorf("got %q, on %v, %v; want %q, on %v", s.String(), on, err, tc.want, tc.on)
			}
		})
	}
}
