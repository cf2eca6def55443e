package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// Header values set on every response, allocated once.
var (
	jsonContentType = []string{"application/json"}
	allowPost       = []string{http.MethodPost}
)

// handler answers AdmissionReviews on POST /mutate. It reads the review with a streaming
// scanner into pooled buffers and writes the response by hand: decoding a review into Go
// types costs several times what TLS does (docs/performance.md), and an admission
// webhook sits in the path of every pod creation in the cluster.
type handler struct {
	config     *atomic.Pointer[config.Config]
	namespaces namespaceSource
	inject     inject.Options
	metrics    *metrics
	log        *slog.Logger
	exchanges  exchangePool
	// limits bound the requests in flight and the bytes they buffer (limits.go).
	limits *admissionLimits
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if !h.limits.enter() {
		h.shed(w, r, limitRequests)
		return
	}
	defer h.limits.leave()
	ex := h.exchanges.get()
	defer h.finish(ex)
	defer h.recoverPanic(w, start)

	if status, msg := checkRequest(r); status != 0 {
		h.reject(w, r, status, msg, start)
		return
	}
	cfg := h.config.Load()
	if cfg == nil {
		h.reject(w, r, http.StatusServiceUnavailable, "Tandem has no valid configuration loaded yet", start)
		return
	}
	if status, msg, limit := ex.readBody(r.Body, h.limits); status != 0 {
		if status == http.StatusTooManyRequests {
			h.shed(w, r, limit)
			return
		}
		h.reject(w, r, status, msg, start)
		return
	}
	rv, err := ex.scanner.scan(ex.body)
	if err != nil {
		h.reject(w, r, http.StatusBadRequest, err.Error(), start)
		return
	}
	ns, err := h.podNamespace(r.Context(), &rv)
	if err != nil {
		h.fail(w, r, rv.operation, http.StatusServiceUnavailable, inject.ReasonNamespaceUnknown, err.Error(), start)
		return
	}
	v, res, result := h.admit(&rv, ns, cfg)
	ex.out = appendReview(ex.out[:0], &rv, &v)
	header := w.Header()
	header["Content-Type"] = jsonContentType
	header["Content-Length"] = []string{strconv.Itoa(len(ex.out))}
	_, _ = w.Write(ex.out) // a failed write is the client gone; nothing to answer
	end := time.Now()
	h.metrics.observeAdmission(rv.operation, result, &res, end.Sub(start))
	h.logAdmission(r.Context(), &rv, &v, &res, result, end)
}

// finish gives the request's buffers back: their bytes to the budget, the exchange to
// the pool.
func (h *handler) finish(ex *exchange) {
	h.limits.release(ex.reserved)
	h.exchanges.put(ex)
}

// checkRequest rejects what is not an AdmissionReview POST before the body is read.
func checkRequest(r *http.Request) (status int, msg string) {
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, "admission requests are POSTed"
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return http.StatusUnsupportedMediaType, "the content type must be application/json"
	}
	if r.ContentLength > MaxBodySize {
		return http.StatusRequestEntityTooLarge, tooLarge
	}
	return 0, ""
}

var tooLarge = "the body is larger than " + strconv.Itoa(MaxBodySize>>20) + " MiB"

// isJSON accepts application/json with optional parameters (charset), in any case.
func isJSON(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "application/json")
}

// podNamespace reads the labels of the namespace of a pod being created, which the engine
// needs to decide; other requests need none.
func (h *handler) podNamespace(ctx context.Context, rv *review) (inject.Namespace, error) {
	if !rv.isPodCreate() || rv.pod == nil || rv.podErr != nil {
		return inject.Namespace{}, nil
	}
	return h.namespaces.namespace(ctx, rv.namespace)
}

// admit decides on one review: pods being created go through the engine, everything else
// is allowed as it is. The result names the outcome for metrics and logs.
func (h *handler) admit(rv *review, ns inject.Namespace, cfg *config.Config) (verdict, inject.Result, string) {
	if !rv.isPodCreate() {
		return allowed(nil), inject.Result{Reason: inject.ReasonNotAPodCreate, Message: "not a pod being created"}, resultUnchanged
	}
	var res inject.Result
	err := rv.podErr
	if err == nil && rv.pod == nil {
		const msg = "request.object is empty: there is no pod to inject"
		return denied(metav1.StatusReasonBadRequest, msg), inject.Result{Reason: inject.ReasonInvalidPod, Message: msg}, resultDenied
	}
	if err == nil {
		res, err = inject.InjectPod(rv.pod, ns, cfg, h.inject)
	}
	if err != nil {
		var denial *inject.Error
		if errors.As(err, &denial) {
			res.Reason = denial.Reason // also for a pod the engine could not read
			return denied(denial.Status, denial.Message), res, resultDenied
		}
		return denied(metav1.StatusReasonInternalError, err.Error()), inject.Result{Reason: inject.ReasonInvalidRequest, Message: err.Error()}, resultDenied
	}
	switch {
	case res.Patch == nil:
		return allowed(res.Warnings), res, resultUnchanged
	case len(res.Injected) == 0: // only the status annotation, saying why
		return patched(res.Patch, res.Warnings), res, resultUnchanged
	}
	return patched(res.Patch, res.Warnings), res, resultInjected
}

// reject answers a request that is not a well-formed AdmissionReview with an HTTP error.
func (h *handler) reject(w http.ResponseWriter, r *http.Request, status int, msg string, start time.Time) {
	h.fail(w, r, "", status, inject.ReasonInvalidRequest, msg, start)
}

// fail answers with an HTTP error instead of an admission decision. The API server
// treats it as a failed call and applies the webhook entry's failurePolicy: Fail refuses
// the pod, Ignore admits it as it is.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, operation string, status int, reason inject.Reason, msg string, start time.Time) {
	if status == http.StatusMethodNotAllowed {
		w.Header()["Allow"] = allowPost
	}
	http.Error(w, msg, status)
	h.metrics.observeAdmission(operation, resultError, &inject.Result{Reason: reason}, time.Since(start))
	h.log.LogAttrs(r.Context(), slog.LevelWarn, "request rejected",
		slog.Int("status", status), slog.String("reason", string(reason)), slog.String("error", msg), slog.String("remote", r.RemoteAddr))
}

// recoverPanic turns a panic in the engine or the handler into a 500 and a log line with
// the stack, so that one bad request costs one failed call, never the server.
func (h *handler) recoverPanic(w http.ResponseWriter, start time.Time) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler { // net/http's way to abort a response; it logs nothing
		panic(p)
	}
	h.log.Error("panic while answering an admission request", "panic", p, "stack", string(debug.Stack()))
	http.Error(w, "internal error in Tandem; see its logs", http.StatusInternalServerError)
	h.metrics.observeAdmission("", resultError, &inject.Result{Reason: inject.ReasonInvalidRequest}, time.Since(start))
}

// logAdmission writes one line per admission: who, what was decided and why, never the
// pod's contents. Requests Tandem does not inject are logged at debug only. The info line
// has what an operator searches by and no more: formatting it is a measurable part of an
// admission (docs/performance.md), and the duration is in the histogram.
func (h *handler) logAdmission(ctx context.Context, rv *review, v *verdict, res *inject.Result, result string, at time.Time) {
	reason, message := string(res.Reason), res.Message
	if !v.allowed {
		message = v.message
	}
	if !rv.isPodCreate() {
		if h.log.Enabled(ctx, slog.LevelDebug) {
			h.log.LogAttrs(ctx, slog.LevelDebug, "admission",
				slog.String("uid", rv.uid), slog.String("operation", rv.operation), slog.String("resource", rv.resource),
				slog.String("namespace", rv.namespace), slog.String("name", rv.name),
				slog.String("result", result), slog.String("reason", reason), slog.String("message", message))
		}
		return
	}
	if !h.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := [...]slog.Attr{
		slog.String("uid", rv.uid),
		slog.String("namespace", rv.namespace),
		slog.String("pod", rv.name),
		slog.String("result", result),
		slog.String("reason", reason),
		slog.String("message", message),
		{}, {}, // sidecars and warnings, when there are any
	}
	n := 6
	if len(res.Injected) > 0 {
		attrs[n] = slog.String("sidecars", strings.Join(res.Injected, ",")) // slog marshals slices by reflection
		n++
	}
	if len(v.warnings) > 0 {
		attrs[n] = slog.Int("warnings", len(v.warnings))
		n++
	}
	// A record without a caller PC: Logger.LogAttrs would walk the stack for one on every
	// admission, for a source location the JSON handler does not print.
	rec := slog.NewRecord(at, slog.LevelInfo, "admission", 0)
	rec.AddAttrs(attrs[:n]...)
	_ = h.log.Handler().Handle(ctx, rec) // a failed log write has nowhere to go
}
