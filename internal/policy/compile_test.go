package policy

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tandem-io/tandem/internal/config"
)

func mustParse(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(text), "config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const twoUncompilable = `sidecars:
- name: seed
  labels: {foo: bar}
- name: shouty
  containers:
  - name: shouty
    image: example.com/s:1
    args: ["{{ .Pod.Name | upper }}", "ok", "{{ if .Pod.Name }}x{{ end }}"]
- name: lower
  env:
  - name: X
    value: "{{ lower .Namespace.Name }}"
`

func TestCompileNamesEverySidecarAndFieldItCannotExpress(t *testing.T) {
	cfg := mustParse(t, twoUncompilable)
	out, err := Compile(cfg, Options{})
	var compileErr *Error
	if !errors.As(err, &compileErr) {
		t.Fatalf("got %v, want a *policy.Error", err)
	}
	for _, want := range []string{
		"2 of the sidecars cannot be compiled to admission policy (shouty, lower); --partial",
		`sidecar "shouty": containers[0].args[0]: the template function upper has no exact CEL equivalent`,
		`sidecar "shouty": containers[0].args[2]: "{{if .Pod.Name}}x{{end}}" has no CEL form here`,
		`sidecar "lower": env[0].value: the template function lower has no exact CEL equivalent`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%s", want, err)
		}
	}
	if len(out.Objects) != 0 {
		t.Error("a failed compile still wrote objects")
	}
}

func TestPartialCompileLeavesTheOthersToTheWebhook(t *testing.T) {
	out, err := Compile(mustParse(t, twoUncompilable), Options{Partial: true, Name: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(out.Compiled, ",") != "seed" || strings.Join(out.Webhook, ",") != "shouty,lower" {
		t.Fatalf("compiled %v, webhook %v", out.Compiled, out.Webhook)
	}
	if len(out.Objects) != 6 {
		t.Fatalf("%d objects, want the three policies and their bindings", len(out.Objects))
	}
	for _, o := range out.Objects {
		meta := o.(interface {
			GetName() string
			GetAnnotations() map[string]string
		})
		if !strings.HasPrefix(meta.GetName(), "mine") || meta.GetAnnotations()[WebhookSidecarsKey] != "shouty,lower" || meta.GetAnnotations()[CompiledSidecarsKey] != "seed" {
			t.Errorf("%T is named %q with annotations %v", o, meta.GetName(), meta.GetAnnotations())
		}
	}
}

func TestCompileWithNothingToCompileIsAnError(t *testing.T) {
	cfg := mustParse(t, "sidecars:\n- name: a\n  labels: {x: '{{ upper .Pod.Name }}'}\n")
	if _, err := Compile(cfg, Options{Partial: true}); err == nil || !strings.Contains(err.Error(), "no sidecar of config.yaml can be compiled") {
		t.Fatalf("got %v", err)
	}
}

func TestSelectorCEL(t *testing.T) {
	tests := map[string]string{
		"":                         "true",
		"a=b":                      "('a' in m && m['a'] in ['b'])",
		"a in (x,y)":               "('a' in m && m['a'] in ['x', 'y'])",
		"a notin (x)":              "(!('a' in m) || !(m['a'] in ['x']))",
		"a,!b":                     "('a' in m) && !('b' in m)",
		"vault.example.com/ok!=no": "(!('vault.example.com/ok' in m) || !(m['vault.example.com/ok'] in ['no']))",
	}
	for in, want := range tests {
		sel, err := labels.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := selectorCEL(sel, "m"); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"a":      "'a'",
		`it's`:   `'it\'s'`,
		`a\b`:    `'a\\b'`,
		"l1\nl2": `'l1\nl2'`,
		"\x00":   `'\u0000'`,
		"héllo":  "'héllo'",
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// The warning policy needs the program's selection variables; a program without them is
// an error from Compile's helpers, never a panic in the CLI.
func TestObjectsWithoutSelectionVariablesIsAnError(t *testing.T) {
	if _, err := objects(metav1.ObjectMeta{Name: "tandem"}, &program{}); err == nil || !strings.Contains(err.Error(), `"owned"`) {
		t.Fatalf("objects of an empty program: err = %v, want one naming the missing variable", err)
	}
}
