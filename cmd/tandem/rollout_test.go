package main

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tandem-io/tandem/examples"
)

// Flags rollout cannot work with end it with status 2 before it reads the cluster.
func TestRolloutRefusesBadFlags(t *testing.T) {
	kubeconfig := writeKubeconfig(t)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"an argument":               {[]string{"shop"}, `rollout takes no arguments, got ["shop"]`},
		"an unknown output":         {[]string{"-o", "xml"}, `--output must be one of text, json, yaml, not "xml"`},
		"a namespace and all":       {[]string{"-n", "shop", "-A"}, "--namespace and --all-namespaces exclude each other"},
		"an owner without a name":   {[]string{"--owner", "deployment"}, "--owner must be KIND/NAME"},
		"no pods at once":           {[]string{"--max-unavailable", "0"}, "--max-unavailable must be a count"},
		"a percentage over 100":     {[]string{"--max-unavailable", "150%"}, "--max-unavailable must be a count"},
		"no owner at once":          {[]string{"--parallel", "0"}, "--parallel must be at least 1"},
		"no time to wait":           {[]string{"--timeout", "0s"}, "--timeout must be positive"},
		"a context that is not":     {[]string{"--kubeconfig", kubeconfig, "--context", "elsewhere"}, `context "elsewhere" does not exist`},
		"an unknown flag":           {[]string{"--bogus"}, "unknown flag: --bogus"},
		"a negative interval":       {[]string{"--interval", "-1s"}, "--interval must not be negative"},
		"an owner of an empty kind": {[]string{"--owner", "/web"}, "--owner must be KIND/NAME"},
	} {
		t.Run(name, func(t *testing.T) {
			_, stderr, err := run(t, "", append([]string{"rollout"}, tc.args...)...)
			var status *exitStatus
			if !errors.As(err, &status) || status.code != 2 {
				t.Fatalf("error %v; want exit status 2", err)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q, want it to say %q", stderr, tc.want)
			}
		})
	}
}

// Without --config, rollout reads the one ConfigMap labelled as Tandem's that holds a
// configuration, and says so when there is none or more than one.
func TestServedConfig(t *testing.T) {
	cm := func(name, key string) runtime.Object {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "tandem-system", Name: name, Labels: map[string]string{"app.kubernetes.io/name": "tandem"}},
			Data: map[string]string{key: string(examples.Config)}}
	}
	for name, tc := range map[string]struct {
		objects []runtime.Object
		want    string // in the error; "" for none
	}{
		"one":                           {[]runtime.Object{cm("tandem-config", "config.yaml")}, ""},
		"one, beside another ConfigMap": {[]runtime.Object{cm("tandem-config", "config.yaml"), cm("tandem-ca", "ca.crt")}, ""},
		"none":                          {nil, "no ConfigMap labelled app.kubernetes.io/name=tandem with a config.yaml in namespace tandem-system"},
		"two":                           {[]runtime.Object{cm("a-config", "config.yaml"), cm("b-config", "config.yaml")}, "several ConfigMaps"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := servedConfig(t.Context(), fake.NewClientset(tc.objects...), "tandem-system")
			switch {
			case tc.want == "" && (err != nil || len(cfg.Names()) == 0):
				t.Errorf("config %v, error %v", cfg, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v; want it to say %q", err, tc.want)
			}
		})
	}
}
