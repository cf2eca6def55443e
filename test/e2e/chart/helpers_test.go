package chart

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// chartDir is the chart under test.
var chartDir = tandemtest.RepoFile("deploy", "charts", "tandem")

// valueSet is one way to install the chart: with its defaults, or with a values file of
// its ci/ directory.
type valueSet struct {
	name string // "default", or the values file's name without .yaml
	file string // "" for the defaults
}

// valueSets lists the defaults and every ci/ values file, so that a new file is tested
// without a change here.
func valueSets(t *testing.T) []valueSet {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no values files in %s/ci", chartDir)
	}
	sets := []valueSet{{name: "default"}}
	for _, f := range files {
		sets = append(sets, valueSet{name: strings.TrimSuffix(filepath.Base(f), ".yaml"), file: f})
	}
	return sets
}

// args are helm's flags for this value set.
func (v valueSet) args() []string {
	if v.file == "" {
		return nil
	}
	return []string{"--values", v.file}
}

// values are the values the set's file gives (none for the defaults).
func (v valueSet) values(t *testing.T) map[string]any {
	t.Helper()
	values := map[string]any{}
	if v.file == "" {
		return values
	}
	data, err := os.ReadFile(v.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatalf("%s: %v", v.file, err)
	}
	return values
}

// helmTemplate renders the chart as deploy/install.yaml is made: release tandem in
// namespace tandem-system. On failure the error holds helm's stderr.
func helmTemplate(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	return cp.Helm(t.Context(), append([]string{"template", "tandem", chartDir, "--namespace", installNS}, args...)...)
}

func render(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := helmTemplate(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// object is one document of a render.
type object struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	raw []byte
}

// objects splits a render into its objects, skipping documents of comments only.
func objects(t *testing.T, rendered []byte) []object {
	t.Helper()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(rendered)))
	var objs []object
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		var o object
		if err := yaml.Unmarshal(doc, &o); err != nil {
			t.Fatalf("%v in:\n%s", err, doc)
		}
		if o.Kind == "" {
			continue
		}
		o.raw = doc
		objs = append(objs, o)
	}
}

// only decodes the one object of kind in objs, failing the test unless there is exactly
// one.
func only[T any](t *testing.T, objs []object, kind string) *T {
	t.Helper()
	found := all[T](t, objs, kind)
	if len(found) != 1 {
		t.Fatalf("the render has %d objects of kind %s, want 1", len(found), kind)
	}
	return found[0]
}

// all decodes, strictly, every object of a kind.
func all[T any](t *testing.T, objs []object, kind string) []*T {
	t.Helper()
	var found []*T
	for _, o := range objs {
		if o.Kind != kind {
			continue
		}
		v := new(T)
		if err := yaml.UnmarshalStrict(o.raw, v); err != nil {
			t.Fatalf("%s %s: %v", kind, o.Metadata.Name, err)
		}
		found = append(found, v)
	}
	return found
}

// writeTemp writes data to a file of the test's temporary directory.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
