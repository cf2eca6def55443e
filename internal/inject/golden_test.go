package inject

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/manifest"
)

// Run with -update to rewrite the .injected files from what the engine does now.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/inject")

// TestGolden runs every testdata/inject/*.yaml (but config.yaml) through the engine as the
// CLI does and compares the output, warnings and errors with X.yaml.injected. Each case
// is run a second time on its own output, which must change nothing, and every patch is
// checked against an independent typed application of the same plan.
func TestGolden(t *testing.T) {
	cfg, err := config.Load(filepath.Join("testdata", "inject", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	inputs, _ := filepath.Glob(filepath.Join("testdata", "inject", "*.yaml"))
	goldens, _ := filepath.Glob(filepath.Join("testdata", "inject", "*.yaml.injected"))
	seen := map[string]bool{}
	for _, in := range inputs {
		if filepath.Base(in) == "config.yaml" {
			continue
		}
		seen[in+".injected"] = true
		t.Run(strings.TrimSuffix(filepath.Base(in), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			ns, opts := caseOptions(t, data)
			got, out := runCase(t, data, cfg, ns, opts)
			compareGolden(t, in+".injected", got)
			if out == nil {
				return
			}
			again, _ := runCase(t, out, cfg, ns, opts)
			if !strings.HasSuffix(again, stripComments(got)) || strings.Contains(again, "# error") {
				t.Errorf("a second run changed the output:\n%s", cmp.Diff(stripComments(got), again))
			}
		})
	}
	if len(seen) == 0 {
		t.Fatal("no golden inputs in testdata/inject")
	}
	for _, g := range goldens {
		if !seen[g] {
			t.Errorf("%s has no input file: delete it", g)
		}
	}
}

// caseOptions reads "# tandem-test: key=value" lines: namespace-labels=k=v and
// native-sidecars=false.
func caseOptions(t *testing.T, data []byte) (Namespace, Options) {
	ns := Namespace{Name: "default", LabelsKnown: true, Labels: map[string]string{}}
	opts := Options{NativeSidecars: true}
	for _, line := range strings.Split(string(data), "\n") {
		directive, ok := strings.CutPrefix(line, "# tandem-test: ")
		if !ok {
			continue
		}
		key, value, _ := strings.Cut(directive, "=")
		switch key {
		case "namespace-labels":
			k, v, _ := strings.Cut(value, "=")
			ns.Labels[k] = v
		case "native-sidecars":
			opts.NativeSidecars = value == "true"
		default:
			t.Fatalf("unknown directive %q", directive)
		}
	}
	return ns, opts
}

// runCase injects into every pod of the manifests and renders what a user would see:
// warnings and errors as comments, then the output YAML. out is nil on error.
func runCase(t *testing.T, data []byte, cfg *config.Config, ns Namespace, opts Options) (string, []byte) {
	var report strings.Builder
	docs, err := manifest.Read(data)
	if err != nil {
		return "# error: " + err.Error() + "\n", nil
	}
	err = manifest.Transform(docs, func(raw []byte, namespace string) ([]byte, error) {
		if namespace != "" {
			ns.Name = namespace
		}
		res, p, err := inject(raw, ns, cfg, opts)
		if err != nil {
			return nil, err
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(&report, "# warning: %s\n", w)
		}
		if res.Patch == nil {
			return raw, nil
		}
		if err := checkPatch(raw, res.Patch, p); err != nil {
			t.Error(err)
		}
		out, err := Apply(raw, res.Patch)
		if err == nil {
			checkStrict(t, out)
		}
		return out, err
	})
	if err != nil {
		fmt.Fprintf(&report, "# error: %s\n", err)
		return report.String(), nil
	}
	var buf bytes.Buffer
	if err := manifest.WriteYAML(&buf, docs); err != nil {
		t.Fatal(err)
	}
	report.Write(buf.Bytes())
	return report.String(), buf.Bytes()
}

// checkStrict makes sure the injected pod holds only fields Kubernetes knows.
func checkStrict(t *testing.T, pod []byte) {
	var p corev1.Pod
	strict, err := kjson.UnmarshalStrict(pod, &p)
	if err != nil || len(strict) > 0 {
		t.Errorf("the injected pod is not a valid Pod: %v %v", err, strict)
	}
}

func compareGolden(t *testing.T, path, got string) {
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/inject -run TestGolden -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s is stale (-want +got), refresh with -update if the change is intended:\n%s", path, diff)
	}
}

func stripComments(s string) string {
	var out []string
	for _, line := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(line, "# ") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
