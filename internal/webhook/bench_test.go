package webhook

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/tandem-io/tandem/examples"
	"github.com/tandem-io/tandem/internal/benchdata"
	"github.com/tandem-io/tandem/internal/config"
)

// benchPayloads are the reference admission payloads (testdata/bench): pods of 6.4 KB,
// 69 KB and 122 KB, each asking for the proxy sidecar of examples/config.yaml.
var benchPayloads = benchdata.Payloads

func benchReview(b *testing.B, name string) []byte {
	b.Helper()
	data, err := benchdata.Review(name)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// rewindBody is a request body that can be read again, so that the benchmark loop does
// not allocate a request per iteration.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

// nullWriter is a ResponseWriter that keeps the status and the body's length only.
type nullWriter struct {
	header http.Header
	status int
	n      int
}

func (w *nullWriter) Header() http.Header         { return w.header }
func (w *nullWriter) WriteHeader(status int)      { w.status = status }
func (w *nullWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// BenchmarkHandler measures /mutate from the request body to the response bytes: scanning
// the review, the engine, and writing the response. TLS and HTTP are not included (see
// docs/performance.md for the server under load).
func BenchmarkHandler(b *testing.B) {
	benchmarkHandler(b, discardLogger())
}

// BenchmarkHandlerLogged is BenchmarkHandler with the info line of each admission
// formatted (to io.Discard): the CPU cost of logging, without the write.
func BenchmarkHandlerLogged(b *testing.B) {
	benchmarkHandler(b, jsonLogger(io.Discard))
}

func benchmarkHandler(b *testing.B, log *slog.Logger) {
	cfg, err := config.Parse(examples.Config, "examples/config.yaml")
	if err != nil {
		b.Fatal(err)
	}
	h := newTestHandler(b, cfg)
	h.log = log
	for _, name := range benchPayloads {
		review := benchReview(b, name)
		b.Run(name, func(b *testing.B) {
			body := &rewindBody{}
			req := httptest.NewRequest(http.MethodPost, "/mutate", body)
			req.Header.Set("Content-Type", "application/json")
			req.ContentLength = int64(len(review))
			w := &nullWriter{header: http.Header{}}
			b.SetBytes(int64(len(review)))
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(review)
				w.status, w.n = 0, 0
				h.ServeHTTP(w, req)
				if w.status != 0 && w.status != http.StatusOK || w.n < 100 {
					b.Fatalf("status %d, %d bytes", w.status, w.n)
				}
			}
		})
	}
}

// BenchmarkScanReview measures reading an AdmissionReview, request.object included (the
// engine reads the pod in the same pass), without injecting or answering.
func BenchmarkScanReview(b *testing.B) {
	for _, name := range benchPayloads {
		review := benchReview(b, name)
		b.Run(name, func(b *testing.B) {
			var s reviewScanner
			var buf []byte
			b.SetBytes(int64(len(review)))
			b.ReportAllocs()
			for b.Loop() {
				buf = append(buf[:0], review...) // the body is read into a buffer, then scanned
				if rv, err := s.scan(buf); err != nil || len(rv.object) == 0 {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeBaseline is the yardstick of BenchmarkHandler: decoding the same review
// with encoding/json into admissionv1.AdmissionReview, which is where a plain Go webhook
// starts (and it has yet to decode the pod in request.object).
func BenchmarkDecodeBaseline(b *testing.B) {
	for _, name := range benchPayloads {
		review := benchReview(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(review)))
			b.ReportAllocs()
			for b.Loop() {
				var r admissionv1.AdmissionReview
				if err := json.Unmarshal(review, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
