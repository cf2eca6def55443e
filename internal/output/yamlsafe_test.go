package output

import (
	"bytes"
	"encoding/json"
	"testing"

	"go.yaml.in/yaml/v3"
)

// What the CLI writes as YAML reads back as the same strings, whatever characters they
// hold: DEL, C1 controls and U+0085 included.
func TestYAMLWritesEveryStringBackAsItWas(t *testing.T) {
	for _, s := range []string{
		"plain", "\x7f", "a\u0080b", "\u0085", "x\u009fy", "\ufffe\uffff", "tab\tand\nnewline",
		"\u2028\u2029", "\ufeffbom", "é", "\U0001F600", "\x00\x1f",
	} {
		v := map[string]any{s: s, "list": []any{s}}
		var out bytes.Buffer
		if err := YAML(&out, v); err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		var back map[string]any
		if err := yaml.Unmarshal(out.Bytes(), &back); err != nil {
			t.Errorf("%q: the YAML does not read back: %v\n%s", s, err, out.String())
			continue
		}
		if back[s] != s || back["list"].([]any)[0] != s {
			t.Errorf("%q read back as %q", s, back)
		}
	}
}

func TestEscapeForYAMLLeavesOrdinaryJSONAsItIs(t *testing.T) {
	js := []byte(`{"a":"é \u0007","b":[1,2]}`)
	if got := EscapeForYAML(js); !bytes.Equal(got, js) {
		t.Errorf("%s became %s", js, got)
	}
	escaped := EscapeForYAML([]byte("{\"k\x7f\":\"v\u0085\"}"))
	var v map[string]string
	if err := json.Unmarshal(escaped, &v); err != nil || v["k\x7f"] != "v\u0085" {
		t.Errorf("%s decodes to %q, %v", escaped, v, err)
	}
}
