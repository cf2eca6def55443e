package main

import (
	"strings"
	"testing"
)

func TestRotateRefusesWhatItCannotDo(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"without --emergency":            {[]string{"--certificate-secret", "tandem-system/tandem-certs"}, "rotate needs --emergency: a planned CA rotation happens on its own"},
		"a Secret without its namespace": {[]string{"--emergency", "--certificate-secret", "tandem-certs"}, `--certificate-secret must be NAMESPACE/NAME, not "tandem-certs"`},
		"a timeout of zero":              {[]string{"--emergency", "--certificate-secret", "a/b", "--timeout", "0s"}, "--timeout must be positive"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := run(t, "", append([]string{"certificates", "rotate"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
