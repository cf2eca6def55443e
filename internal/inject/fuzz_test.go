package inject

import (
	"path/filepath"
	"testing"

	"github.com/tandem-io/tandem/internal/benchdata"
	"github.com/tandem-io/tandem/internal/config"
)

// FuzzInject feeds arbitrary bytes as the pod, and arbitrary sidecar lists, to the engine:
// it must never panic, and any patch it returns must apply to the input and agree with
// the typed application of its plan.
func FuzzInject(f *testing.F) {
	cfg, err := config.Load(filepath.Join("testdata", "inject", "config.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	// The reference pods, as the API server sends them; the larger ones slow the fuzzer
	// down more than they teach it.
	for _, name := range benchdata.Payloads {
		pod, err := benchdata.Object(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(pod) < 10000 {
			f.Add(pod, "proxy")
		}
	}
	f.Add([]byte(`{"metadata":{"annotations":{"tandem.io/inject":"seed"}},"spec":{"containers":[{"name":"a"}]}}`), "seed")
	f.Add([]byte(`{"spec":{"containers":[{"name":"app","env":null,"ports":[{"containerPort":15001}]}],"volumes":[]}}`), "proxy,logs")
	f.Add([]byte(`{"metadata":null,"spec":{"containers":[]}}`), "awkward")
	f.Add([]byte(`{"metadata":{"labels":{"a~b/c":"\u00e9\"\\"}}}`), "seed")
	f.Add([]byte(`[1,2,3]`), "seed")
	f.Fuzz(func(t *testing.T, raw []byte, sidecars string) {
		ns := Namespace{Name: "default", LabelsKnown: true, Labels: map[string]string{InjectKey: sidecars}}
		res, p, err := inject(raw, ns, cfg, Options{NativeSidecars: true})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T, want *Error: %v", err, err)
			}
			return
		}
		if res.Patch == nil {
			return
		}
		if err := checkPatch(raw, res.Patch, p); err != nil {
			t.Fatalf("%v\npod: %q", err, raw)
		}
	})
}
