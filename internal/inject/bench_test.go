package inject

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/tandem-io/tandem/examples"
	"github.com/tandem-io/tandem/internal/benchdata"
	"github.com/tandem-io/tandem/internal/config"
)

// benchPayloads are the reference payloads (testdata/bench).
var benchPayloads = benchdata.Payloads

// benchObject returns request.object of a reference payload.
func benchObject(b *testing.B, name string) []byte {
	b.Helper()
	obj, err := benchdata.Object(name)
	if err != nil {
		b.Fatal(err)
	}
	return obj
}

// BenchmarkInject measures the engine from the raw pod to the patch bytes.
func BenchmarkInject(b *testing.B) {
	cfg, err := config.Parse(examples.Config, "examples/config.yaml")
	if err != nil {
		b.Fatal(err)
	}
	ns := Namespace{Name: "default", LabelsKnown: true}
	for _, name := range benchPayloads {
		raw := benchObject(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				res, err := Inject(raw, ns, cfg, Options{NativeSidecars: true})
				if err != nil || len(res.Injected) != 1 {
					b.Fatalf("injected %v, err %v", res.Injected, err)
				}
			}
		})
	}
}

// BenchmarkDecodeBaseline is the yardstick of BenchmarkInject: decoding the same bytes
// into a corev1.Pod with encoding/json, which is what a plain Go webhook does first.
func BenchmarkDecodeBaseline(b *testing.B) {
	for _, name := range benchPayloads {
		raw := benchObject(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				var pod corev1.Pod
				if err := json.Unmarshal(raw, &pod); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
