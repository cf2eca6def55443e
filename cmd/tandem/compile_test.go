package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompileWritesWhatTheGoldenHolds(t *testing.T) {
	out, stderr, err := run(t, "", "compile", "--config", repoFile("examples", "config.yaml"))
	if err != nil || stderr != "" {
		t.Fatalf("compile: %v %s", err, stderr)
	}
	golden, err := os.ReadFile(repoFile("internal", "policy", "testdata", "examples.compiled.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if out != string(golden) {
		t.Error("tandem compile of examples/config.yaml differs from internal/policy/testdata/examples.compiled.yaml")
	}
}

func TestCompileJSONIsAList(t *testing.T) {
	out, _, err := run(t, "", "compile", "--config", repoFile("examples", "config.yaml"), "-o", "json", "--name", "mine")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Kind  string
		Items []struct {
			Kind     string
			Metadata struct{ Name string }
		}
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var kinds []string
	for _, it := range list.Items {
		if it.Metadata.Name != "mine" && it.Metadata.Name != "mine-warnings" {
			t.Errorf("%s is named %q, want mine", it.Kind, it.Metadata.Name)
		}
		kinds = append(kinds, it.Kind)
	}
	want := "MutatingAdmissionPolicy,MutatingAdmissionPolicyBinding,ValidatingAdmissionPolicy,ValidatingAdmissionPolicyBinding,ValidatingAdmissionPolicy,ValidatingAdmissionPolicyBinding"
	if list.Kind != "List" || strings.Join(kinds, ",") != want {
		t.Errorf("kind %s items %v, want a List of %s", list.Kind, kinds, want)
	}
}

func TestCompileErrors(t *testing.T) {
	dir := t.TempDir()
	shouty := filepath.Join(dir, "shouty.yaml")
	_ = os.WriteFile(shouty, []byte("sidecars:\n- name: seed\n  labels: {foo: bar}\n- name: shouty\n  labels: {x: '{{ upper .Pod.Name }}'}\n"), 0o644)
	broken := filepath.Join(dir, "broken.yaml")
	_ = os.WriteFile(broken, []byte("sidecars:\n- name: A\n"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a sidecar CEL cannot express", []string{"--config", shouty}, `sidecar "shouty": labels[x]: the template function upper has no exact CEL equivalent`},
		{"a broken configuration", []string{"--config", broken}, "broken.yaml:2"},
		{"an unknown format", []string{"-o", "toml"}, `--output must be one of yaml, json, not "toml"`},
		{"arguments", []string{"extra"}, "unknown command"},
		{"a version without policies", []string{"--kube-version", "1.30"}, "Kubernetes 1.30 serves no MutatingAdmissionPolicy; Tandem's admission policies need MutatingAdmissionPolicy admissionregistration.k8s.io/v1, served by default from Kubernetes 1.36"},
		{"a version with beta policies only", []string{"--kube-version", "v1.35.1"}, "Kubernetes v1.35.1 serves no MutatingAdmissionPolicy;"},
		{"not a version", []string{"--kube-version", "latest"}, `--kube-version: "latest" is not a Kubernetes version such as 1.30`},
		{"a version and a cluster", []string{"--kube-version", "1.37", "--context", "prod"}, "none of the others can be"},
		{"a cluster that cannot be read", []string{"--kubeconfig", filepath.Join(dir, "missing")}, "missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := run(t, "", append([]string{"compile"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if out != "" {
				t.Errorf("a failed compile wrote output:\n%s", out)
			}
		})
	}
}

// A version that runs the policies changes nothing in what is written.
func TestCompileForAVersionThatRunsThem(t *testing.T) {
	plain, _, err := run(t, "", "compile", "--config", repoFile("examples", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.36", "v1.37.2"} {
		out, _, err := run(t, "", "compile", "--config", repoFile("examples", "config.yaml"), "--kube-version", v)
		if err != nil || out != plain {
			t.Errorf("compile --kube-version %s: %v, output the same: %v", v, err, out == plain)
		}
	}
}

func TestCompilePartialSaysWhatItLeavesToTheWebhook(t *testing.T) {
	out, stderr, err := run(t, "", "compile", "--partial", "--config", repoFile("internal", "policy", "testdata", "partial.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "left to the webhook") || !strings.Contains(stderr, `sidecar "shouty": annotations[shout.example.com/name]`) {
		t.Errorf("stderr does not name what is left to the webhook and why:\n%s", stderr)
	}
	if !strings.HasPrefix(out, "# Compiled by tandem compile: the policy injects seed; pods that ask for shouty are left to the webhook.") {
		t.Errorf("the output does not start with what it leaves out:\n%.200s", out)
	}
}

func TestValidateSaysWhatCompiles(t *testing.T) {
	out, _, err := run(t, "", "validate", "--config", repoFile("internal", "policy", "testdata", "partial.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"valid, 2 sidecars: seed, shouty",
		"compiles to admission policy: seed",
		"webhook only (tandem compile --partial leaves them to the webhook): shouty",
		`sidecar "shouty": annotations[shout.example.com/name]: the template function upper`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate does not say %q:\n%s", want, out)
		}
	}
}
