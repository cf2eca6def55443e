package output

import (
	"bytes"
	"testing"

	"sigs.k8s.io/yaml"
)

type sample struct {
	Name  string   `json:"name"`
	Value string   `json:"value"`
	Alpha []string `json:"alpha"`
}

// YAML keeps the JSON's key order and reads back as the same value, strings that look
// like other types included.
func TestYAMLKeepsTheJSONOrderAndReadsBack(t *testing.T) {
	in := sample{Name: "a<b", Value: "true", Alpha: []string{"1", "x: y"}}
	var b bytes.Buffer
	if err := YAML(&b, in); err != nil {
		t.Fatal(err)
	}
	want := "name: a<b\nvalue: \"true\"\nalpha:\n  - \"1\"\n  - 'x: y'\n"
	if b.String() != want {
		t.Errorf("YAML:\n%s\nwant:\n%s", b.String(), want)
	}
	var back sample
	if err := yaml.UnmarshalStrict(b.Bytes(), &back); err != nil || back.Name != in.Name || back.Value != in.Value || len(back.Alpha) != 2 || back.Alpha[1] != "x: y" {
		t.Errorf("read back %+v (%v), want %+v", back, err, in)
	}
	b.Reset()
	if err := JSON(&b, in); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"name\": \"a<b\",\n  \"value\": \"true\",\n  \"alpha\": [\n    \"1\",\n    \"x: y\"\n  ]\n}\n"; b.String() != want {
		t.Errorf("JSON:\n%s\nwant:\n%s", b.String(), want)
	}
}
