package policy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-io/tandem/internal/config"
)

// Run with -update to rewrite testdata/*.compiled.yaml from what Compile does now.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The configurations whose compiled policies are kept as goldens, each as tandem compile
// writes it; test/e2e/admissionpolicy applies every one to a real API server.
var goldenConfigs = []struct {
	name, path string
	partial    bool
}{
	{"examples", "../../examples/config.yaml", false},
	{"demo", "../../examples/demo/config.yaml", false},
	{"inject", "../inject/testdata/inject/config.yaml", false},
	{"partial", "testdata/partial.yaml", true},
}

func TestGolden(t *testing.T) {
	for _, c := range goldenConfigs {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Load(c.path)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Compile(cfg, Options{Partial: c.partial})
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := out.WriteYAML(&got); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", c.name+".compiled.yaml")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/policy -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("%s is not what Compile writes now (-golden +now); if the change is meant, run go test ./internal/policy -update:\n%s", golden, diff)
			}
		})
	}
}
