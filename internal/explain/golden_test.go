package explain

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
	"github.com/tandem-io/tandem/internal/manifest"
)

// Run with -update to rewrite testdata from what explain says now.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// engineCases are the engine's golden inputs: explain must say something true about
// each of them, and the same thing as long as the engine decides the same.
var engineCases = filepath.Join("..", "inject", "testdata", "inject")

// TestGolden explains every input of the engine's golden tests, with their config and
// their "# tandem-test:" directives, and compares the text and JSON output with
// testdata/NAME.txt and testdata/NAME.json.
func TestGolden(t *testing.T) {
	cfg, err := config.Load(filepath.Join(engineCases, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	inputs, _ := filepath.Glob(filepath.Join(engineCases, "*.yaml"))
	want := map[string]bool{}
	for _, in := range inputs {
		if filepath.Base(in) == "config.yaml" {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(in), ".yaml")
		want[name+".txt"], want[name+".json"] = true, true
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := manifest.Read(data)
			if err != nil {
				t.Fatal(err)
			}
			pods, err := Manifests(docs, caseInputs(t, docs, data, cfg), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(pods) == 0 {
				t.Fatal("no pod or template explained")
			}
			var text, js bytes.Buffer
			if err := WriteText(&text, pods); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, pods); err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata", name+".txt"), text.String())
			compareGolden(t, filepath.Join("testdata", name+".json"), js.String())
			checkFormatsAgree(t, pods, js.Bytes())
		})
	}
	if len(want) == 0 {
		t.Fatalf("no inputs in %s", engineCases)
	}
	goldens, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, g := range goldens {
		if !want[filepath.Base(g)] {
			t.Errorf("%s has no input in %s: delete it", g, engineCases)
		}
	}
}

// caseInputs reads the "# tandem-test: key=value" lines the engine's golden tests use:
// namespace-labels=k=v (one label a line) and native-sidecars=false. The labels are
// those of the first document's namespace, as `tandem explain -n NS` would be told.
func caseInputs(t *testing.T, docs []manifest.Document, data []byte, cfg *config.Config) Offline {
	in := Offline{Config: cfg, Namespace: "default", NamespaceLabels: map[string]string{}, Options: inject.Options{NativeSidecars: true}}
	if meta, _ := docs[0].Object["metadata"].(map[string]any); meta["namespace"] != nil {
		in.Namespace, _ = meta["namespace"].(string)
	}
	for _, line := range strings.Split(string(data), "\n") {
		directive, ok := strings.CutPrefix(line, "# tandem-test: ")
		if !ok {
			continue
		}
		key, value, _ := strings.Cut(directive, "=")
		switch key {
		case "namespace-labels":
			k, v, _ := strings.Cut(value, "=")
			in.NamespaceLabels[k] = v
		case "native-sidecars":
			in.Options.NativeSidecars = value == "true"
		default:
			t.Fatalf("unknown directive %q", directive)
		}
	}
	return in
}

// checkFormatsAgree makes sure the JSON reads back into the same pods, and the YAML into
// the same value as the JSON: scripts may use either.
func checkFormatsAgree(t *testing.T, pods []Pod, js []byte) {
	t.Helper()
	var back []Pod
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pods, back); diff != "" {
		t.Errorf("the JSON does not read back into the pods (-want +got):\n%s", diff)
	}
	var y bytes.Buffer
	if err := WriteYAML(&y, pods); err != nil {
		t.Fatal(err)
	}
	var fromYAML, fromJSON any
	if err := yaml.Unmarshal(y.Bytes(), &fromYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromJSON, fromYAML); diff != "" {
		t.Errorf("the YAML and the JSON differ (-json +yaml):\n%s", diff)
	}
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/explain -run TestGolden -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s is stale (-want +got), refresh with -update if the change is intended:\n%s", path, diff)
	}
}
