package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// addSeeds gives a fuzz test real reviews to mutate: the reference payloads and small
// reviews of each kind the handler tells apart.
func addSeeds(f *testing.F) {
	for _, name := range benchPayloads {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "bench", name+".admissionreview.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range [][]byte{
		podReview(pod(asks("proxy,logs"), nil, "app")),
		podReview(pod(asks("vault"), nil, "app"), inNamespace("platform")),
		podReview(pod(asks("proxy"), nil, "proxy")),
		reviewOf(admissionV1beta1, "CREATE", "Pod", "pods", pod(asks("proxy"), nil, "app")),
		reviewOf(admissionV1, "DELETE", "Pod", "pods", nil),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"\u00e9\"x","object":{}}}`),
		[]byte("{"), []byte(""), []byte("null"), []byte("[]"),
	} {
		f.Add(seed)
	}
}

// FuzzHandler: whatever the body, the handler answers a 200 with a valid AdmissionReview
// (whose patch, if any, applies to the object) or a 400/413 with a message, never panics.
func FuzzHandler(f *testing.F) {
	addSeeds(f)
	h := newTestHandler(f, testConfig(f))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if rec.Body.Len() == 0 {
				t.Fatalf("a %d without a message", rec.Code)
			}
			return
		default:
			t.Fatalf("status %d (500 is a recovered panic): %s", rec.Code, rec.Body)
		}
		out := rec.Body.Bytes()
		if !json.Valid(out) {
			t.Fatalf("the response is not valid JSON: %s", out)
		}
		review := decodeReview(t, out)
		if review.Kind != reviewKind || (review.APIVersion != admissionV1 && review.APIVersion != admissionV1beta1) {
			t.Fatalf("the response is %s %s", review.APIVersion, review.Kind)
		}
		if review.Response.Patch != nil {
			var s reviewScanner
			rv, err := s.scan(bytes.Clone(body))
			if err != nil {
				t.Fatal(err)
			}
			p, err := jsonpatch.DecodePatch(review.Response.Patch)
			if err != nil {
				t.Fatalf("the patch is not a JSON patch: %v", err)
			}
			if _, err := p.Apply(rv.object); err != nil {
				t.Fatalf("the patch does not apply to request.object: %v", err)
			}
		}
	})
}

// FuzzScanReview: the scanner never panics; what it accepts has a valid JSON object (or
// none) and gives a response that is valid JSON echoing the uid.
func FuzzScanReview(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var s reviewScanner
		rv, err := s.scan(bytes.Clone(body))
		if err != nil {
			return
		}
		// The scanner checks what it reads and only the balance of what it skips (the API
		// server sends valid JSON), so only a valid body promises a valid object.
		if json.Valid(body) && rv.object != nil && !json.Valid(rv.object) {
			t.Fatalf("request.object is not valid JSON: %q", rv.object)
		}
		for _, v := range []verdict{
			denied(metav1.StatusReasonInvalid, rv.name+"\x00\xff"),
			patched([]byte(`[{"op":"add","path":"/x","value":1}]`), []string{rv.namespace}),
		} {
			out := appendReview(nil, &rv, &v)
			var review struct {
				Response struct{ UID string } `json:"response"`
			}
			if err := json.Unmarshal(out, &review); err != nil {
				t.Fatalf("the response is not valid JSON: %v\n%s", err, out)
			}
			if review.Response.UID != rv.uid {
				t.Fatalf("uid %q echoed as %q", rv.uid, review.Response.UID)
			}
		}
	})
}
