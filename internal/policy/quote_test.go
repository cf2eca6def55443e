package policy

import (
	"bytes"
	"strings"
	"testing"
	"unicode"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"
)

// Strings that YAML or a reader could change on the way: non-printing characters of
// every kind, in and beyond the Basic Multilingual Plane, next to what CEL must escape.
var awkwardStrings = []string{
	"a", `it's`, `a\b`, "l1\nl2", "\x00", "tab\tcr\r", "del\x7f", "héllo", "emoji 🙂",
	"nel\u0085x", "ls\u2028ps\u2029", "nbsp\u00a0", "bom\ufeff", "zwsp\u200b", "tag\U000e0001", "private\U000f0000",
	"\ufffd is printable",
}

func TestQuoteRoundTripsThroughYAMLAndCEL(t *testing.T) {
	for _, s := range awkwardStrings {
		q := quote(s)
		for _, r := range q {
			if !unicode.IsPrint(r) {
				t.Errorf("quote(%q) = %s holds the non-printing %U", s, q, r)
			}
		}
		if got, err := evalString(q); err != nil || got != s {
			t.Errorf("quote(%q) = %s reads back in CEL as %q (%v)", s, q, got, err)
		}
		data, err := yaml.Marshal(map[string]string{"expression": q})
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]string
		if err := yaml.Unmarshal(data, &back); err != nil || back["expression"] != q {
			t.Errorf("quote(%q) = %s comes back from YAML as %s (%v)", s, q, back["expression"], err)
		}
	}
}

// The compiled policy, written as YAML and read back, holds the same CEL as the one in
// memory: a value with U+0085 (which YAML folds into a space) included.
func TestCompiledYAMLReadsBackUnchanged(t *testing.T) {
	cfg := mustParse(t, "sidecars:\n- name: note\n  annotations:\n    example.com/note: \"a\\u0085b\\u2028c\\u00a0d\"\n")
	out, err := Compile(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := out.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(b.String(), "\n---\n")
	var back admissionv1.MutatingAdmissionPolicy
	if err := yaml.Unmarshal([]byte(docs[1]), &back); err != nil {
		t.Fatal(err)
	}
	want := out.Objects[0].(*admissionv1.MutatingAdmissionPolicy).Spec.Mutations[0].JSONPatch.Expression
	if got := back.Spec.Mutations[0].JSONPatch.Expression; got != want {
		t.Errorf("the mutation read back from YAML differs from the compiled one:\n got %s\nwant %s", got, want)
	}
}
