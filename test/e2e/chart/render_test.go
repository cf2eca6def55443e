package chart

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

var update = flag.Bool("update", false, "rewrite the golden renders in testdata/renders")

// goldenDir holds one render per ci/ values file; the defaults' render is
// deploy/install.yaml.
const goldenDir = "testdata/renders"

// helm lint passes with the defaults and every ci/ values file, without a warning.
func TestLint(t *testing.T) {
	for _, v := range valueSets(t) {
		t.Run(v.name, func(t *testing.T) {
			out, err := cp.Helm(t.Context(), append([]string{"lint", chartDir}, v.args()...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for line := range strings.Lines(string(out)) {
				if strings.Contains(line, "[ERROR]") || strings.Contains(line, "[WARNING]") {
					t.Errorf("helm lint: %s", strings.TrimSpace(line))
				}
			}
			if !strings.Contains(string(out), "1 chart(s) linted, 0 chart(s) failed") {
				t.Errorf("helm lint did not report the chart as passed:\n%s", out)
			}
		})
	}
}

// Each ci/ values file renders as its golden file says, so that a change to the chart
// shows in review as a change to what it installs.
func TestGoldenRenders(t *testing.T) {
	sets := valueSets(t)
	for _, v := range sets {
		if v.file == "" {
			continue // TestInstallYAMLIsUpToDate
		}
		t.Run(v.name, func(t *testing.T) {
			got := render(t, v.args()...)
			path := filepath.Join(goldenDir, v.name+".yaml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (create it with go test ./test/e2e/chart -run TestGoldenRenders -update)", err)
			}
			if diff := lineDiff(string(want), string(got)); diff != "" {
				t.Errorf("%s is stale (-want +got); if the change is intended, refresh it with go test ./test/e2e/chart -update:\n%s", path, diff)
			}
		})
	}
	// A golden file whose values file is gone would never be compared again.
	goldens, err := filepath.Glob(filepath.Join(goldenDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldens {
		name := strings.TrimSuffix(filepath.Base(g), ".yaml")
		if !slices.ContainsFunc(sets, func(v valueSet) bool { return v.file != "" && v.name == name }) {
			t.Errorf("%s has no values file %s/ci/%s.yaml: remove it", g, chartDir, name)
		}
	}
}

// deploy/install.yaml is the namespace tandem-system, then exactly what the chart renders
// with its defaults now, but its Helm hook.
func TestInstallYAMLIsUpToDate(t *testing.T) {
	const regenerate = "run `make install-yaml` (hack/install-yaml.sh)"
	path := tandemtest.RepoFile("deploy", "install.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: %s", err, regenerate)
	}
	// helm's render starts with a document separator; what precedes it is the header.
	header, rendered, ok := bytes.Cut(data, []byte("\n---\n"))
	if !ok {
		t.Fatalf("deploy/install.yaml holds no render of the chart: %s", regenerate)
	}
	// Without the hook, as hack/install-yaml.sh renders it: kubectl has no hooks.
	if diff := lineDiff(string(render(t, "--no-hooks")), "---\n"+string(rendered)); diff != "" {
		t.Errorf("deploy/install.yaml is out of date with the chart (-chart +file): %s\n%s", regenerate, diff)
	}
	var ns corev1.Namespace
	if err := yaml.UnmarshalStrict(header, &ns); err != nil {
		t.Fatalf("the header of deploy/install.yaml is not one Namespace: %v: %s", err, regenerate)
	}
	want := corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: installNS}}
	if diff := cmp.Diff(want, ns); diff != "" {
		t.Errorf("deploy/install.yaml's first object (-want +got): %s\n%s", regenerate, diff)
	}
	if !bytes.Contains(header, []byte("make install-yaml")) {
		t.Errorf("deploy/install.yaml's header does not say how to regenerate it:\n%s", header)
	}
}

// The configuration each render installs is one Tandem loads, the one given (the
// repository's example by default), byte for byte, in the ConfigMap the server reads
// and in the one the validation hook checks; and the webhook's entries split its
// sidecars by failure policy as Tandem reads them.
func TestRenderedConfig(t *testing.T) {
	examples, err := os.ReadFile(tandemtest.RepoFile("examples", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range valueSets(t) {
		t.Run(v.name, func(t *testing.T) {
			objs := objects(t, render(t, v.args()...))
			want := string(examples)
			if given, _ := v.values(t)["config"].(string); given != "" {
				want = given
			}
			var names []string
			var cfg *config.Config
			for _, cm := range all[corev1.ConfigMap](t, objs, "ConfigMap") {
				names = append(names, cm.Name)
				got, ok := cm.Data["config.yaml"]
				if !ok {
					t.Fatalf("ConfigMap %s has no config.yaml", cm.Name)
				}
				// The loader tandem validate and tandem serve use.
				var err error
				if cfg, err = config.Parse([]byte(got), "config.yaml of ConfigMap "+cm.Name); err != nil {
					t.Fatalf("Tandem refuses the configuration the chart installs:\n%v", err)
				}
				if got != want {
					t.Errorf("ConfigMap %s holds another configuration than the one given (-want +got):\n%s", cm.Name, lineDiff(want, got))
				}
			}
			if !slices.Equal(names, []string{"tandem-config", "tandem-validate"}) {
				t.Fatalf("the render's ConfigMaps are %v, want the server's tandem-config and the validation hook's tandem-validate", names)
			}
			checkEntries(t, cfg, only[admissionregistrationv1.MutatingWebhookConfiguration](t, objs, "MutatingWebhookConfiguration"))
		})
	}
}

// A configuration whose first line is indented (a comment, say) is installed as it is:
// the ConfigMap's block scalar does not take its indentation from that line.
func TestRenderedConfigStartingIndented(t *testing.T) {
	const given = "  # Sidecars of the platform team.\nsidecars:\n  - name: seed\n    labels: {foo: bar}\n"
	objs := objects(t, render(t, "--no-hooks", "--set-file", "config="+writeTemp(t, "config.yaml", []byte(given))))
	cm := only[corev1.ConfigMap](t, objs, "ConfigMap")
	if got := cm.Data["config.yaml"]; got != given {
		t.Errorf("ConfigMap %s holds another configuration than the one given (-want +got):\n%s", cm.Name, lineDiff(given, got))
	}
}

// checkEntries compares the webhook's entries with the ones cfg calls for: the Fail
// entries always, the Ignore ones when a sidecar is best effort; the namespace entries
// tell the label values naming only best-effort sidecars apart.
func checkEntries(t *testing.T, cfg *config.Config, mwc *admissionregistrationv1.MutatingWebhookConfiguration) {
	t.Helper()
	var ignore []string
	for _, s := range cfg.Sidecars {
		if s.FailurePolicy == config.FailurePolicyIgnore {
			ignore = append(ignore, s.Name)
		}
	}
	// Beyond five, the chart sends every labelled namespace through the Fail entry.
	var values []string
	if len(ignore) <= 5 {
		values = orderings(ignore)
	}
	type entry struct {
		Name   string
		Policy admissionregistrationv1.FailurePolicyType
		// The operator and values of the namespaceSelector on tandem.io/inject.
		Label []string
	}
	want := []entry{
		{"fail-pod.inject.tandem.io", admissionregistrationv1.Fail, nil},
		{"fail-namespace.inject.tandem.io", admissionregistrationv1.Fail, append([]string{"Exists", "NotIn", "", "false"}, values...)},
	}
	if len(ignore) > 0 {
		want = append(want, entry{"ignore-pod.inject.tandem.io", admissionregistrationv1.Ignore, nil})
	}
	if len(values) > 0 {
		want = append(want, entry{"ignore-namespace.inject.tandem.io", admissionregistrationv1.Ignore, append([]string{"In"}, values...)})
	}
	var got []entry
	for _, w := range mwc.Webhooks {
		e := entry{Name: w.Name, Policy: *w.FailurePolicy}
		for _, r := range w.NamespaceSelector.MatchExpressions {
			if r.Key == "tandem.io/inject" {
				e.Label = append(append(e.Label, string(r.Operator)), r.Values...)
			}
		}
		got = append(got, e)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the webhook's entries do not match the configuration's sidecars (best effort: %v) (-want +got):\n%s", ignore, diff)
	}
}

// orderings lists every namespace label value naming a non-empty set of names, in any
// order, joined by dots, in the order the chart lists them.
func orderings(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, n)
		rest := slices.DeleteFunc(slices.Clone(names), func(m string) bool { return m == n })
		for _, tail := range orderings(rest) {
			out = append(out, n+"."+tail)
		}
	}
	return out
}

// A value the chart cannot install fails the render with a message that says which
// value and why, rather than installing something broken.
func TestRenderErrors(t *testing.T) {
	configFile := func(content string) []string {
		return []string{"--set-file", "config=" + writeTemp(t, "config.yaml", []byte(content))}
	}
	// The rollout's values are read only when it is on.
	rollout := func(value string) []string {
		return []string{"--set", "rollout.enabled=true", "--set", value}
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"config that is not YAML", configFile("sidecars: [seed\n"), "config is not valid YAML"},
		{"sidecars that are not a list", configFile("sidecars: seed\n"), "config: sidecars is not a list"},
		{"a sidecar that is not a mapping", configFile("sidecars: [seed]\n"), "config: sidecars[0] is not a mapping"},
		{"a sidecar without a name", configFile("sidecars:\n  - name: seed\n  - labels: {foo: bar}\n"), "config: sidecars[1] has no name"},
		{"a certificates.mode the chart does not know", []string{"--set", "certificates.mode=bogus"},
			`certificates.mode must be self, cert-manager or files, not "bogus"`},
		{"certificates.mode files without its Secret", []string{"--set", "certificates.mode=files", "--set", "certificates.files.caBundle=Q0E="},
			"certificates.files.secretName is required with certificates.mode=files"},
		{"certificates.mode files without its CA", []string{"--set", "certificates.mode=files", "--set", "certificates.files.secretName=tandem-tls"},
			"certificates.files.caBundle is required with certificates.mode=files"},
		{"a rollout.maxUnavailable of zero", rollout("rollout.maxUnavailable=0"),
			`rollout.maxUnavailable must be a positive count of pods such as 1, or a percentage from 1% to 100% such as 25%, not "0"`},
		{"a rollout.maxUnavailable over 100%", rollout("rollout.maxUnavailable=150%"),
			`rollout.maxUnavailable must be a positive count of pods such as 1, or a percentage from 1% to 100% such as 25%, not "150%"`},
		{"a rollout.maxUnavailable that is no number", rollout("rollout.maxUnavailable=all"), `rollout.maxUnavailable must be`},
		{"an empty rollout.interval", rollout("rollout.interval="), `rollout.interval must be a positive Go duration such as 30s, not ""`},
		{"a rollout.timeout without a unit", rollout("rollout.timeout=300"), `rollout.timeout must be a positive Go duration such as 5m, not "300"`},
		{"a rollout.timeout of zero", rollout("rollout.timeout=0s"), `rollout.timeout must be a positive Go duration such as 5m, not "0s"`},
		{"a rollout switch that is no boolean", rollout("rollout.restart=yes"), `rollout.restart must be true or false, not "yes"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := helmTemplate(t, c.args...)
			if err == nil {
				t.Fatalf("helm template succeeded; want it to fail with %q. It rendered:\n%s", c.want, out)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("helm template failed without %q:\n%v", c.want, err)
			}
		})
	}
}

// lineDiff compares texts line by line, which reads better than cmp's diff of long
// strings.
func lineDiff(want, got string) string {
	return cmp.Diff(strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n"))
}
