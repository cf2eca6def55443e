package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the tandem command line in-process and returns stdout, stderr (the error
// included, as main reports it) and the error.
func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	report(&errOut, err)
	return out.String(), errOut.String(), err
}

func repoFile(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

func TestInjectTheDemoTestDeployment(t *testing.T) {
	out, _, err := run(t, "", "inject", "-f", repoFile("examples", "test.yaml"), "--config", repoFile("examples", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"foo: bar", "name: proxy", "restartPolicy: Always", "tandem.io/status:", "name: HTTP_PROXY"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	again, _, err := run(t, out, "inject", "-f", "-", "--config", repoFile("examples", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if again != out {
		t.Errorf("running inject on its own output changed it")
	}
}

func TestInjectUsesTheEmbeddedConfigByDefault(t *testing.T) {
	out, _, err := run(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {tandem.io/inject: seed}}\nspec: {containers: [{name: a, image: b}]}\n", "inject", "-f", "-", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"foo": "bar"`) {
		t.Fatalf("output lacks the seed label:\n%s", out)
	}
}

func TestInjectNamespaceLabelsAndClassicMode(t *testing.T) {
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: b}]}\n"
	out, _, err := run(t, pod, "inject", "-f", "-", "--namespace-labels", "tandem.io/inject=proxy", "--native-sidecars=false")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "restartPolicy: Always") || !strings.Contains(out, "name: proxy") {
		t.Fatalf("want proxy as a classic container:\n%s", out)
	}
}

func TestInjectErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknown := write("unknown.yaml", "kind: Service\nmetadata: {name: s}\n---\nkind: Pod\nmetadata: {name: p, annotations: {tandem.io/inject: envoy}}\nspec: {containers: [{name: a}]}\n")
	broken := write("broken.yaml", "kind: Pod\nmetadata: [\n")
	badConfig := write("config.yaml", "sidecars:\n- name: x\n  bogus: 1\n")
	empty := write("empty.yaml", "\n")
	tests := map[string]struct {
		args []string
		want string
	}{
		"an unknown sidecar names the document, object and sidecar": {
			[]string{"inject", "-f", unknown}, `document 2 (Pod p): the pod annotation tandem.io/inject asks for sidecar "envoy"`,
		},
		"a malformed manifest names the document": {[]string{"inject", "-f", broken}, "document 1: not valid YAML"},
		"a broken config names the line":          {[]string{"inject", "-f", unknown, "--config", badConfig}, "config.yaml:3: sidecar \"x\": bogus: unknown field"},
		"a missing file":                          {[]string{"inject", "-f", filepath.Join(dir, "absent.yaml")}, "no such file"},
		"an empty file":                           {[]string{"inject", "-f", empty}, "empty.yaml: no Kubernetes objects"},
		"a bad output format":                     {[]string{"inject", "-f", unknown, "-o", "xml"}, `--output must be one of yaml, json, not "xml"`},
		"no file":                                 {[]string{"inject"}, `required flag(s) "filename" not set`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, _, err := run(t, "", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
			if out != "" {
				t.Errorf("a failed run wrote to stdout:\n%s", out)
			}
		})
	}
}

func TestInjectWarnsOnStderr(t *testing.T) {
	pod := "kind: Pod\nmetadata: {name: p, annotations: {tandem.io/inject: logs}}\nspec: {containers: [{name: logs, image: b}]}\n"
	out, stderr, err := run(t, pod, "inject", "-f", "-")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, `warning: NameClash: sidecar "logs" cannot be injected`) || strings.Contains(out, "name: logs\n  - ") ||
		!strings.Contains(out, `"skipped":[{"name":"logs","reason":"NameClash"}]`) {
		t.Fatalf("want a warning, a pod without the sidecar, and the status saying why; stderr:\n%s\nstdout:\n%s", stderr, out)
	}
}

func TestValidate(t *testing.T) {
	out, _, err := run(t, "", "validate", "--config", repoFile("examples", "config.yaml"))
	if err != nil || !strings.Contains(out, "valid, 3 sidecars: seed, proxy, logs") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	_ = os.WriteFile(bad, []byte("sidecars:\n- name: A\n  native: x\n"), 0o644)
	_, _, err = run(t, "", "validate", "--config", bad)
	if err == nil || !strings.Contains(err.Error(), "2 problems") {
		t.Fatalf("validate of a bad config: %v", err)
	}
}

func TestVersion(t *testing.T) {
	out, _, err := run(t, "", "version")
	if err != nil || !strings.HasPrefix(out, "tandem ") {
		t.Fatalf("version: %v %q", err, out)
	}
}

func TestInjectCustomWorkloadsAndNullListItems(t *testing.T) {
	in := `apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {annotations: {tandem.io/inject: proxy}}
    spec: {containers: [{name: app, image: example.com/app:1.0}]}
---
apiVersion: v1
kind: List
items:
- null
- apiVersion: argoproj.io/v1alpha1
  kind: Rollout
  metadata: {name: quiet}
  spec: {template: {spec: {containers: [{name: app, image: example.com/app:1.0}]}}}
-
`
	out, stderr, err := run(t, in, "inject", "-f", "-")
	if err != nil {
		t.Fatal(err)
	}
	wantStderr := `warning: document 1 (DeploymentConfig shop/web): not a kind Tandem knows; injected its spec.template as a pod template
warning: document 2 (List): items[0] is null; left it out of the output
warning: document 2 (List): items[2] is null; left it out of the output
`
	if stderr != wantStderr {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, wantStderr)
	}
	if !strings.Contains(out, "name: proxy") || strings.Count(out, "tandem.io/status") != 1 {
		t.Errorf("want the DeploymentConfig's template injected and the Rollout's left alone:\n%s", out)
	}
	if strings.Contains(out, "null") || !strings.Contains(out, "items:\n- apiVersion: argoproj.io/v1alpha1\n") {
		t.Errorf("want the null items gone and the Rollout kept:\n%s", out)
	}
	again, stderr, err := run(t, out, "inject", "-f", "-")
	if err != nil || again != out || stderr != "" {
		t.Errorf("a second run changed the output or warned: %v\n%s\n%s", err, stderr, again)
	}
}

// validate's usage line says what it does: without --config it checks the embedded
// example (what Tandem's image runs to check itself).
func TestValidateWithoutConfigChecksTheEmbeddedExample(t *testing.T) {
	out, _, err := run(t, "", "validate")
	if err != nil || !strings.HasPrefix(out, "embedded examples/config.yaml: valid, 3 sidecars") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	if use := newValidateCommand().Use; use != "validate [--config FILE]" {
		t.Errorf("usage line %q claims --config is required", use)
	}
}
