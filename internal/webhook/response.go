package webhook

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// verdict is Tandem's answer to one AdmissionReview.
type verdict struct {
	allowed  bool
	patch    []byte // RFC 6902, nil when the object is admitted unchanged
	warnings []string
	// A denial's status: what kubectl prints, and its classification.
	reason  metav1.StatusReason
	message string
}

func allowed(warnings []string) verdict { return verdict{allowed: true, warnings: warnings} }

func patched(patch []byte, warnings []string) verdict {
	return verdict{allowed: true, patch: patch, warnings: warnings}
}

func denied(reason metav1.StatusReason, message string) verdict {
	return verdict{reason: reason, message: message}
}

// statusCode maps the reasons the engine denies with to their HTTP codes, as
// metav1.Status carries them.
func statusCode(reason metav1.StatusReason) int {
	switch reason {
	case metav1.StatusReasonBadRequest:
		return http.StatusBadRequest
	case metav1.StatusReasonInvalid:
		return http.StatusUnprocessableEntity
	case metav1.StatusReasonForbidden:
		return http.StatusForbidden
	case metav1.StatusReasonConflict:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// appendReview writes the AdmissionReview that answers rv. It is written by hand rather
// than marshalled from admissionv1 types: the response is small and its shape fixed, and
// marshalling through reflection would cost more than the rest of the response path.
// The patch is base64, as encoding/json encodes the []byte field of the Go type.
func appendReview(dst []byte, rv *review, v *verdict) []byte {
	dst = append(dst, `{"apiVersion":`...)
	dst = appendString(dst, rv.apiVersion)
	dst = append(dst, `,"kind":`...)
	dst = appendString(dst, rv.kind)
	dst = append(dst, `,"response":{"uid":`...)
	dst = appendString(dst, rv.uid)
	if v.allowed {
		dst = append(dst, `,"allowed":true`...)
	} else {
		dst = append(dst, `,"allowed":false,"status":{"metadata":{},"status":"Failure","message":`...)
		dst = appendString(dst, v.message)
		dst = append(dst, `,"reason":`...)
		dst = appendString(dst, string(v.reason))
		dst = append(dst, `,"code":`...)
		dst = strconv.AppendInt(dst, int64(statusCode(v.reason)), 10)
		dst = append(dst, '}')
	}
	if len(v.patch) > 0 {
		dst = append(dst, `,"patchType":"JSONPatch","patch":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, v.patch)
		dst = append(dst, '"')
	}
	if len(v.warnings) > 0 {
		dst = append(dst, `,"warnings":[`...)
		for i, w := range v.warnings {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, w)
		}
		dst = append(dst, ']')
	}
	return append(dst, "}}"...)
}

// appendString appends s as a JSON string. Invalid UTF-8 (only a hostile request has it)
// becomes U+FFFD, so the output is always valid JSON; the error saying so is not needed.
func appendString(dst []byte, s string) []byte {
	dst, _ = jsontext.AppendQuote(dst, s)
	return dst
}
