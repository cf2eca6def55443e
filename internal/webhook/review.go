package webhook

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/tandem-io/tandem/internal/inject"
	"github.com/tandem-io/tandem/internal/jsonscan"
)

// The AdmissionReview versions Tandem speaks; the response echoes the request's.
const (
	admissionV1      = "admission.k8s.io/v1"
	admissionV1beta1 = "admission.k8s.io/v1beta1"
	reviewKind       = "AdmissionReview"
)

// review is what Tandem reads of an AdmissionReview: the fields that route and log the
// request, and the object as the exact bytes the API server sent. Everything else
// (oldObject, userInfo, options, and inside the object managedFields, env values,
// probes...) is stepped over without being decoded.
type review struct {
	apiVersion, kind string
	uid              string
	operation        string
	namespace        string
	name             string // request.name, else the object's metadata.name or generateName
	kindGroup        string // request.kind.group
	kindKind         string // request.kind.kind
	resourceGroup    string // request.resource.group
	resource         string // request.resource.resource
	subResource      string
	// object aliases the request body: it is valid until the body buffer is reused.
	object []byte
	// pod is request.object as the engine read it, in the same pass; podErr says why it
	// could not be read, which matters only if the request turns out to be a pod CREATE.
	pod    *inject.Pod
	podErr error
}

// isPodCreate says whether the request is one Tandem injects: a pod, not a subresource
// of one, being created. Everything else is allowed untouched.
func (r *review) isPodCreate() bool {
	return r.kindGroup == "" && r.kindKind == "Pod" &&
		r.resourceGroup == "" && r.resource == "pods" && r.subResource == "" &&
		r.operation == "CREATE"
}

// reviewScanner reads AdmissionReviews with jsonscan: the members that route and log a
// request are read, request.object is read by the engine in the same pass (so a 100 KB
// pod is scanned once, not once to find its end and again to inject it), and everything
// else is stepped over. It is pooled with the exchange, so scanning allocates nothing.
type reviewScanner struct {
	s     jsonscan.Scanner
	shape error      // the first member of the wrong type
	pod   inject.Pod // read into again for each review, so that its memory is reused
}

// scan reads the AdmissionReview in body. The review's strings and object alias body, so
// body must not be written until the review is no longer used.
func (sc *reviewScanner) scan(body []byte) (review, error) {
	var rv review
	sc.s.Reset(body)
	sc.shape = nil
	s := &sc.s
	if s.AtEnd() {
		return review{}, errors.New("the body is empty")
	}
	if sc.object("the AdmissionReview") {
		for key, ok := s.NextKey(); ok; key, ok = s.NextKey() {
			switch string(key) {
			case "apiVersion":
				rv.apiVersion = sc.str("apiVersion")
			case "kind":
				rv.kind = sc.str("kind")
			case "request":
				sc.request(&rv)
			default:
				s.Skip()
			}
		}
	}
	if err := s.End(); err != nil {
		return review{}, syntaxError(err)
	}
	if sc.shape != nil {
		return review{}, sc.shape
	}
	if rv.name == "" && rv.pod != nil {
		rv.name = rv.pod.Name()
	}
	return rv, checkReview(&rv)
}

// checkReview rejects documents that are valid JSON but not an AdmissionReview that an
// API server would send.
func checkReview(rv *review) error {
	if rv.apiVersion != admissionV1 && rv.apiVersion != admissionV1beta1 {
		return fmt.Errorf("apiVersion is %q: Tandem reads AdmissionReview of %s and %s", rv.apiVersion, admissionV1, admissionV1beta1)
	}
	if rv.kind != reviewKind {
		return fmt.Errorf("kind is %q, not %s", rv.kind, reviewKind)
	}
	if rv.uid == "" {
		return errors.New("the AdmissionReview has no request.uid")
	}
	if !utf8.ValidString(rv.uid) {
		// The response must echo the uid, and JSON can only carry valid UTF-8: the echo
		// would differ, and the API server would refuse the answer without saying why.
		return errors.New("request.uid is not valid UTF-8")
	}
	return nil
}

func (sc *reviewScanner) request(rv *review) {
	s := &sc.s
	if !sc.object("request") {
		return
	}
	for key, ok := s.NextKey(); ok; key, ok = s.NextKey() {
		switch string(key) {
		case "uid":
			rv.uid = sc.str("request.uid")
		case "kind":
			sc.groupAnd("request.kind", "kind", &rv.kindGroup, &rv.kindKind)
		case "resource":
			sc.groupAnd("request.resource", "resource", &rv.resourceGroup, &rv.resource)
		case "subResource":
			rv.subResource = sc.str("request.subResource")
		case "operation":
			rv.operation = sc.str("request.operation")
		case "namespace":
			rv.namespace = sc.str("request.namespace")
		case "name":
			rv.name = sc.str("request.name")
		case "object":
			sc.readObject(rv)
		default:
			s.Skip()
		}
	}
}

// groupAnd reads a GroupVersionKind or GroupVersionResource: its group and one other member.
func (sc *reviewScanner) groupAnd(field, member string, group, other *string) {
	s := &sc.s
	if !sc.object(field) {
		return
	}
	for key, ok := s.NextKey(); ok; key, ok = s.NextKey() {
		switch string(key) {
		case "group":
			*group = sc.str(field)
		case member:
			*other = sc.str(field)
		default:
			s.Skip()
		}
	}
}

// readObject reads request.object with the engine and keeps its raw bytes. A pod the engine
// cannot read is an error only for a pod CREATE, which the handler decides later.
func (sc *reviewScanner) readObject(rv *review) {
	s := &sc.s
	start := s.Offset()
	if s.Null() {
		return // a DELETE, say
	}
	rv.podErr = sc.pod.Read(s)
	if rv.podErr == nil {
		rv.pod = &sc.pod
	}
	if s.Err() == nil {
		rv.object = s.Data(start, s.Offset())
	}
}

// object begins an object, or records that field is not one and steps over it.
func (sc *reviewScanner) object(field string) bool {
	if sc.s.Peek() == '{' {
		return sc.s.BeginObject()
	}
	sc.wrong(field, "an object")
	return false
}

// str reads a string; null reads as "".
func (sc *reviewScanner) str(field string) string {
	switch sc.s.Peek() {
	case '"':
		return sc.s.String()
	case 'n':
		sc.s.Null()
	default:
		sc.wrong(field, "a string")
	}
	return ""
}

func (sc *reviewScanner) wrong(field, want string) {
	if sc.shape == nil && sc.s.Err() == nil {
		sc.shape = fmt.Errorf("the body is not a valid AdmissionReview: %s must be %s", field, want)
	}
	sc.s.Skip()
}

// syntaxError words a scanner error for the HTTP response.
func syntaxError(err error) error {
	return fmt.Errorf("the body is not a valid AdmissionReview: %w", err)
}
