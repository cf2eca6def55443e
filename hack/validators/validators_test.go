// Package validators benchmarks checking a whole AdmissionReview against JSON's grammar,
// which is most of what Tandem's webhook does per request (it reads a few fields and
// checks, without decoding, everything else):
//
//	cd hack/validators && go test -bench . -count 5
//
// jsonscan is Tandem's scanner (pure Go); sonic is bytedance/sonic's validator (native
// SIMD code); fastjson is valyala/fastjson's; encoding/json is the standard library's.
// BenchmarkReadReview (review_test.go) reads the fields as well, with jsonscan and with
// go-json-experiment's jsontext.Decoder.
package validators

import (
	"encoding/json"
	"testing"

	"github.com/bytedance/sonic"
	"github.com/valyala/fastjson"

	"github.com/tandem-io/tandem/internal/benchdata"
	"github.com/tandem-io/tandem/internal/jsonscan"
)

func BenchmarkValidate(b *testing.B) {
	validators := []struct {
		name  string
		valid func([]byte) bool
	}{
		{"jsonscan", func(d []byte) bool { s := jsonscan.New(d); s.Skip(); return s.End() == nil }},
		{"sonic", sonic.Valid},
		{"fastjson", func(d []byte) bool { return fastjson.ValidateBytes(d) == nil }},
		{"encoding-json", json.Valid},
	}
	for _, payload := range benchdata.Payloads {
		data, err := benchdata.Review(payload)
		if err != nil {
			b.Fatal(err)
		}
		for _, v := range validators {
			b.Run(payload+"/"+v.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if !v.valid(data) {
						b.Fatal("a reference payload is not valid JSON")
					}
				}
			})
		}
	}
}

// TestWhatEachValidatorChecks keeps the comparison honest. Every validator rejects broken
// structure; bytedance/sonic's does not look inside strings (control characters, bad
// escapes), so it does less work than the others for the same verdict on the payloads.
func TestWhatEachValidatorChecks(t *testing.T) {
	jsonscanValid := func(doc string) bool { s := jsonscan.New([]byte(doc)); s.Skip(); return s.End() == nil }
	for _, doc := range []string{`{"a":1,}`, `{"a" 1}`, `[1 2]`, `{"a":nul}`, `{"a":[}`, `{"a":1`} {
		if jsonscanValid(doc) || sonic.Valid([]byte(doc)) || fastjson.Validate(doc) == nil || json.Valid([]byte(doc)) {
			t.Errorf("%s: a validator accepts broken structure", doc)
		}
	}
	for _, doc := range []string{`{"a":"b\q"}`, "{\"a\":\"b\x01\"}"} {
		if jsonscanValid(doc) || fastjson.Validate(doc) == nil || json.Valid([]byte(doc)) {
			t.Errorf("%q: jsonscan, fastjson or encoding/json accepts a broken string", doc)
		}
		if !sonic.Valid([]byte(doc)) {
			t.Errorf("%q: sonic now checks strings; update docs/performance.md", doc)
		}
	}
}
