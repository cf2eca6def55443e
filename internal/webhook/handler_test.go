package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"

	"github.com/tandem-io/tandem/internal/benchdata"
	"github.com/tandem-io/tandem/internal/inject"
)

func TestHandlerAnswersAdmissionReviews(t *testing.T) {
	tests := map[string]struct {
		method, contentType string // POST and application/json when empty
		body                []byte
		unknownLength       bool // send the body without a Content-Length

		wantStatus     int    // the HTTP status; 200 when zero
		wantError      string // in the body of an HTTP error
		wantVersion    string // the response's apiVersion; admission.k8s.io/v1 when empty
		wantDenied     bool
		wantCode       int32    // status.code of a denial
		wantMessage    string   // in the denial's message
		wantWarning    string   // in a warning
		wantContainers []string // the pod's containers after the patch; nil expects no patch
	}{
		"a v1 pod that asks for a sidecar gets it by a patch": {
			body:           podReview(pod(asks("proxy"), nil, "app")),
			wantContainers: []string{"app", "proxy"},
		},
		"a v1beta1 review is answered in v1beta1": {
			body:           reviewOf(admissionV1beta1, "CREATE", "Pod", "pods", pod(asks("proxy"), nil, "app")),
			wantVersion:    admissionV1beta1,
			wantContainers: []string{"app", "proxy"},
		},
		"a deployment is allowed untouched": {
			body: reviewOf(admissionV1, "CREATE", "Deployment", "deployments", pod(asks("proxy"), nil, "app"), func(req map[string]any) {
				req["kind"].(map[string]any)["group"] = "apps"
				req["resource"].(map[string]any)["group"] = "apps"
			}),
		},
		"an update of a pod is allowed untouched": {
			body: reviewOf(admissionV1, "UPDATE", "Pod", "pods", pod(asks("proxy"), nil, "app")),
		},
		"a pod's subresource is allowed untouched": {
			body: podReview(pod(asks("proxy"), nil, "app"), func(req map[string]any) { req["subResource"] = "binding" }),
		},
		"a pod labelled tandem.io/inject=false is left alone even when it asks": {
			body: podReview(pod(asks("proxy"), map[string]string{inject.InjectKey: "false"}, "app")),
		},
		"a pod that asks for nothing is left alone": {
			body: podReview(pod(nil, nil, "app")),
		},
		"a pod asking for an unknown sidecar is denied with its name": {
			body:        podReview(pod(asks("nope"), nil, "app")),
			wantDenied:  true,
			wantCode:    http.StatusUnprocessableEntity,
			wantMessage: `"nope"`,
		},
		"a pod whose container takes a mandatory sidecar's name is denied": {
			body:        podReview(pod(asks("proxy"), nil, "proxy")),
			wantDenied:  true,
			wantCode:    http.StatusConflict,
			wantMessage: "proxy",
		},
		"a best-effort sidecar that clashes is left out with a warning, and the status says so": {
			body:           podReview(pod(asks("logs"), nil, "logs")),
			wantWarning:    "NameClash: sidecar \"logs\"",
			wantContainers: []string{"logs"}, // the pod's own, untouched
		},
		"a restricted sidecar is denied in a namespace it is not allowed in": {
			body:        podReview(pod(asks("vault"), nil, "app")),
			wantDenied:  true,
			wantCode:    http.StatusForbidden,
			wantMessage: `sidecar "vault" is not allowed in namespace "default"`,
		},
		"a restricted sidecar is injected in a namespace it is allowed in": {
			body:           podReview(pod(asks("vault"), nil, "app"), inNamespace("platform")),
			wantContainers: []string{"app", "vault-agent"},
		},
		"an object that is not a pod is denied as a bad request": {
			body:        podReview("not a pod"),
			wantDenied:  true,
			wantCode:    http.StatusBadRequest,
			wantMessage: "not valid JSON of a pod",
		},
		"malformed JSON is a bad request with a message": {
			body:       []byte(`{"apiVersion":"admission.k8s.io/v1","request":{"uid":`),
			wantStatus: http.StatusBadRequest,
			wantError:  "end of input",
		},
		"an empty body is a bad request": {
			body:       nil,
			wantStatus: http.StatusBadRequest,
			wantError:  "empty",
		},
		"JSON with trailing garbage is a bad request": {
			body:       append(podReview(pod(nil, nil, "app")), "}"...),
			wantStatus: http.StatusBadRequest,
			wantError:  "not a valid AdmissionReview",
		},
		"a review of an unknown version is a bad request": {
			body:       reviewOf("admission.k8s.io/v2", "CREATE", "Pod", "pods", pod(nil, nil, "app")),
			wantStatus: http.StatusBadRequest,
			wantError:  "admission.k8s.io/v2",
		},
		"a review without a request uid is a bad request": {
			body:       podReview(pod(nil, nil, "app"), func(req map[string]any) { delete(req, "uid") }),
			wantStatus: http.StatusBadRequest,
			wantError:  "no request.uid",
		},
		"a body over 4 MiB is refused before it is read": {
			body:       bytes.Repeat([]byte{' '}, MaxBodySize+1),
			wantStatus: http.StatusRequestEntityTooLarge,
			wantError:  "larger than 4 MiB",
		},
		"a body over 4 MiB without a length is refused while it is read": {
			body:          bytes.Repeat([]byte{' '}, MaxBodySize+1),
			unknownLength: true,
			wantStatus:    http.StatusRequestEntityTooLarge,
		},
		"GET is not allowed": {
			method:     http.MethodGet,
			wantStatus: http.StatusMethodNotAllowed,
		},
		"a text/plain body is an unsupported media type": {
			contentType: "text/plain",
			body:        podReview(pod(asks("proxy"), nil, "app")),
			wantStatus:  http.StatusUnsupportedMediaType,
		},
		"application/json with a charset is accepted": {
			contentType:    "application/json; charset=utf-8",
			body:           podReview(pod(asks("proxy"), nil, "app")),
			wantContainers: []string{"app", "proxy"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newTestHandler(t, testConfig(t))
			method, contentType := cmpOr(tc.method, http.MethodPost), cmpOr(tc.contentType, "application/json")
			req := httptest.NewRequest(method, "/mutate", bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", contentType)
			if tc.unknownLength {
				req.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if want := cmpOr(tc.wantStatus, http.StatusOK); rec.Code != want {
				t.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
			}
			if rec.Code != http.StatusOK {
				if !strings.Contains(rec.Body.String(), tc.wantError) {
					t.Errorf("error %q does not contain %q", rec.Body, tc.wantError)
				}
				if rec.Code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != http.MethodPost {
					t.Errorf("Allow header %q, want POST", rec.Header().Get("Allow"))
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			out := decodeReview(t, rec.Body.Bytes())
			checkEcho(t, out.APIVersion, out.Kind, string(out.Response.UID), cmpOr(tc.wantVersion, admissionV1))
			resp := out.Response
			if resp.Allowed == tc.wantDenied {
				t.Fatalf("allowed = %v, want %v (status %+v)", resp.Allowed, !tc.wantDenied, resp.Result)
			}
			if tc.wantDenied {
				if resp.Result == nil || resp.Result.Code != tc.wantCode || !strings.Contains(resp.Result.Message, tc.wantMessage) {
					t.Errorf("denial %+v, want code %d and a message containing %q", resp.Result, tc.wantCode, tc.wantMessage)
				}
			}
			if tc.wantWarning != "" && !slices.ContainsFunc(resp.Warnings, func(w string) bool { return strings.Contains(w, tc.wantWarning) }) {
				t.Errorf("warnings %q, want one containing %q", resp.Warnings, tc.wantWarning)
			}
			checkPatch(t, tc.body, resp.Patch, resp.PatchType != nil, tc.wantContainers)
		})
	}
}

func cmpOr[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}

// checkEcho checks that a response carries the request's apiVersion, kind and uid.
func checkEcho(t *testing.T, apiVersion, kind, uid, wantVersion string) {
	t.Helper()
	if apiVersion != wantVersion || kind != reviewKind || uid != "705ab4f5-6393-11e8-b7cc-42010a800002" {
		t.Errorf("the response is %s %s for uid %q; it must echo the request's", apiVersion, kind, uid)
	}
}

// checkPatch applies the patch to the request's object, as the API server does, and
// checks the pod it gives.
func checkPatch(t *testing.T, review, patch []byte, hasPatchType bool, wantContainers []string) {
	t.Helper()
	if wantContainers == nil {
		if patch != nil || hasPatchType {
			t.Errorf("unexpected patch %s (patchType set: %v)", patch, hasPatchType)
		}
		return
	}
	if !hasPatchType {
		t.Error("a patch without patchType")
	}
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		t.Fatalf("the patch is not a JSON patch: %v\n%s", err, patch)
	}
	patched, err := p.Apply(requestObject(t, review))
	if err != nil {
		t.Fatalf("the patch does not apply to request.object: %v\n%s", err, patch)
	}
	var got corev1.Pod
	if err := json.Unmarshal(patched, &got); err != nil {
		t.Fatalf("the patched object is not a pod: %v", err)
	}
	var names []string
	for _, c := range got.Spec.Containers {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, wantContainers) {
		t.Errorf("containers after the patch %q, want %q", names, wantContainers)
	}
	if got.Annotations[inject.StatusKey] == "" {
		t.Errorf("the patched pod has no %s annotation", inject.StatusKey)
	}
}

// panickingNamespaces stands for a bug anywhere under the handler.
type panickingNamespaces struct{}

func (panickingNamespaces) namespace(context.Context, string) (inject.Namespace, error) {
	panic("boom")
}

func TestHandlerTurnsAPanicIntoAnErrorAndALogLine(t *testing.T) {
	var logs bytes.Buffer
	h := newTestHandler(t, testConfig(t))
	h.namespaces = panickingNamespaces{}
	h.log = slog.New(slog.NewJSONHandler(&logs, nil))
	rec := post(h, podReview(pod(asks("proxy"), nil, "app")))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	if !strings.Contains(logs.String(), `"panic":"boom"`) || !strings.Contains(logs.String(), "stack") {
		t.Errorf("no log line with the panic and its stack: %s", logs.String())
	}
	if got := counterValue(t, h.metrics.requests.WithLabelValues("unknown", resultError, "InvalidRequest")); got != 1 {
		t.Errorf("requests with result error = %v, want 1", got)
	}
}

func TestHandlerWithoutConfigurationAnswersUnavailable(t *testing.T) {
	h := newTestHandler(t, nil)
	rec := post(h, podReview(pod(asks("proxy"), nil, "app")))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503 so that the API server applies the failurePolicy", rec.Code)
	}
}

func TestHandlerLogsOneLinePerAdmissionWithoutPodContents(t *testing.T) {
	var logs bytes.Buffer
	h := newTestHandler(t, testConfig(t))
	h.log = slog.New(slog.NewJSONHandler(&logs, nil))
	post(h, podReview(pod(asks("proxy"), nil, "app")))

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(lines), logs.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"msg": "admission", "uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "namespace": "default",
		"pod": "web-", "result": resultInjected, "sidecars": "proxy", "reason": "Injected",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v", k, line[k], v)
		}
	}
	if strings.Contains(lines[0], "example.com/app") {
		t.Errorf("the log line shows the pod's contents: %s", lines[0])
	}
}

func TestHandlerCountsRequestsAndInjections(t *testing.T) {
	h := newTestHandler(t, testConfig(t))
	for _, body := range [][]byte{
		podReview(pod(asks("proxy,logs"), nil, "app")),
		podReview(pod(asks("logs"), nil, "logs")), // the pod's own container is called logs
		podReview(pod(asks("nope"), nil, "app")),
		reviewOf(admissionV1, "DELETE", "Pod", "pods", nil),
		[]byte("{"),
	} {
		post(h, body)
	}
	tests := map[string]struct {
		counter prometheus.Counter
		want    float64
	}{
		"the injected pod":              {h.metrics.requests.WithLabelValues("CREATE", resultInjected, "Injected"), 1},
		"the denied pod":                {h.metrics.requests.WithLabelValues("CREATE", resultDenied, "UnknownSidecar"), 1},
		"the delete, left alone":        {h.metrics.requests.WithLabelValues("DELETE", resultUnchanged, "NotAPodCreate"), 1},
		"the malformed request":         {h.metrics.requests.WithLabelValues("unknown", resultError, "InvalidRequest"), 1},
		"the proxy sidecar":             {h.metrics.injections.WithLabelValues("proxy", resultInjected), 1},
		"the logs sidecar":              {h.metrics.injections.WithLabelValues("logs", resultInjected), 1},
		"no sidecar for the denied pod": {h.metrics.injections.WithLabelValues("nope", resultInjected), 0},
		"the logs sidecar left out":     {h.metrics.injections.WithLabelValues("logs", sidecarSkipped), 1},
		"the pod without logs, as is":   {h.metrics.requests.WithLabelValues("CREATE", resultUnchanged, "NameClash"), 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := counterValue(t, tc.counter); got != tc.want {
				t.Errorf("count %v, want %v", got, tc.want)
			}
		})
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestHandlerReusesNothingOfAnEarlierReview sends very different reviews one after another
// through one handler, whose pooled buffers, pod views and plans are reused, and checks
// each answer against a fresh handler's.
func TestHandlerReusesNothingOfAnEarlierReview(t *testing.T) {
	cfg := testConfig(t)
	bench, err := benchdata.Review("large")
	if err != nil {
		t.Fatal(err)
	}
	reviews := [][]byte{
		bench,
		podReview(pod(asks("proxy"), map[string]string{"team": "a"}, "app", "db", "cache")),
		podReview(pod(nil, nil, "app")),
		podReview(pod(asks("logs"), nil, "logs")), // a clash
		podReview(map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "x"}}}}),
		reviewOf(admissionV1, "DELETE", "Pod", "pods", nil),
		[]byte(`{"kind":`),
		podReview(pod(asks("proxy"), map[string]string{inject.InjectKey: "false"}, "app")), // opted out
		podReview(map[string]any{ // no labels at all: not opted out
			"metadata": map[string]any{"generateName": "web-", "annotations": asks("proxy")},
			"spec":     map[string]any{"containers": []any{map[string]any{"name": "app"}}},
		}),
		podReview(pod(asks("proxy,logs"), nil, "app")),
	}
	answer := func(h *handler, body []byte) string {
		rec := post(h, body)
		return fmt.Sprint(rec.Code, " ", rec.Body.String())
	}
	reused := newTestHandler(t, cfg)
	for round := range 3 {
		for i, body := range reviews {
			if got, want := answer(reused, body), answer(newTestHandler(t, cfg), body); got != want {
				t.Fatalf("round %d, review %d: a reused handler answers\n%s\nand a fresh one\n%s", round, i, got, want)
			}
		}
	}
}
