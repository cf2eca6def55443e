// Package benchdata gives benchmarks and tests the reference admission payloads of
// testdata/bench: AdmissionReviews of Pod CREATEs as a kube-apiserver sends them, each
// asking for the proxy sidecar of examples/config.yaml.
package benchdata

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
)

// Payloads names the reference payloads, smallest first: 6.4 KB, 69 KB and 122 KB.
var Payloads = []string{"typical", "large", "huge-env"}

// Review returns the whole AdmissionReview called name.
func Review(name string) ([]byte, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	return os.ReadFile(filepath.Join(root, "testdata", "bench", name+".admissionreview.json"))
}

// Object returns request.object of the AdmissionReview called name.
func Object(name string) ([]byte, error) {
	data, err := Review(name)
	if err != nil {
		return nil, err
	}
	var review struct {
		Request struct {
			Object json.RawMessage `json:"object"`
		} `json:"request"`
	}
	err = json.Unmarshal(data, &review)
	return review.Request.Object, err
}
