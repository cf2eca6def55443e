package webhook

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"
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
}

// isPodCreate says whether the request is one Tandem injects: a pod, not a subresource
// of one, being created. Everything else is allowed untouched.
func (r *review) isPodCreate() bool {
	return r.kindGroup == "" && r.kindKind == "Pod" &&
		r.resourceGroup == "" && r.resource == "pods" && r.subResource == "" &&
		r.operation == "CREATE"
}

// reviewScanner reads AdmissionReviews with a streaming tokenizer. It is reused through a
// pool, so its decoder's state stacks are allocated once, not per request.
type reviewScanner struct {
	dec  jsontext.Decoder
	body []byte
	// scratch holds the unquoted form of names and strings that contain escapes.
	scratch []byte
}

// decodeOptions: duplicate-name checking costs a map per object, half of all scanning
// time on a large pod, and the API server never sends duplicate names.
var decodeOptions = jsontext.AllowDuplicateNames(true)

// scan reads the AdmissionReview in buf. buf is consumed; the review's object aliases
// its bytes, so buf must not be written until the review is no longer used.
func (s *reviewScanner) scan(buf *bytes.Buffer) (review, error) {
	var rv review
	s.body = buf.Bytes()
	s.dec.Reset(buf, decodeOptions)
	err := s.members("the AdmissionReview", func(name []byte) error {
		var err error
		switch string(name) {
		case "apiVersion":
			rv.apiVersion, err = s.str("apiVersion")
		case "kind":
			rv.kind, err = s.str("kind")
		case "request":
			err = s.request(&rv)
		default:
			err = s.skip()
		}
		return err
	})
	if err == nil {
		if _, trailing := s.dec.ReadToken(); trailing != io.EOF {
			err = errors.New("unexpected data after the AdmissionReview")
		}
	}
	if err != nil {
		return review{}, syntaxError(err)
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
	return nil
}

func (s *reviewScanner) request(rv *review) error {
	return s.members("request", func(name []byte) error {
		var err error
		switch string(name) {
		case "uid":
			rv.uid, err = s.str("request.uid")
		case "kind":
			err = s.groupAnd("request.kind", "kind", &rv.kindGroup, &rv.kindKind)
		case "resource":
			err = s.groupAnd("request.resource", "resource", &rv.resourceGroup, &rv.resource)
		case "subResource":
			rv.subResource, err = s.str("request.subResource")
		case "operation":
			rv.operation, err = s.str("request.operation")
		case "namespace":
			rv.namespace, err = s.str("request.namespace")
		case "name":
			var n string
			if n, err = s.str("request.name"); n != "" {
				rv.name = n
			}
		case "object":
			err = s.object(rv)
		default:
			err = s.skip()
		}
		return err
	})
}

// groupAnd reads a GroupVersionKind or GroupVersionResource: its group and one other member.
func (s *reviewScanner) groupAnd(field, member string, group, other *string) error {
	return s.members(field, func(name []byte) error {
		var err error
		switch string(name) {
		case "group":
			*group, err = s.str(field + ".group")
		case member:
			*other, err = s.str(field + "." + member)
		default:
			err = s.skip()
		}
		return err
	})
}

// object captures request.object as raw bytes. When it is an object, it walks its top
// level to read metadata.name and generateName for logs; every member is skipped whole.
func (s *reviewScanner) object(rv *review) error {
	if s.dec.PeekKind() != '{' {
		v, err := s.dec.ReadValue()
		rv.object = v
		return err
	}
	var start int64
	var name, generateName string
	err := s.membersAt(&start, "request.object", func(member []byte) error {
		if string(member) != "metadata" || s.dec.PeekKind() != '{' {
			return s.skip()
		}
		return s.members("request.object.metadata", func(field []byte) error {
			var err error
			switch string(field) {
			case "name":
				name, err = s.str("metadata.name")
			case "generateName":
				generateName, err = s.str("metadata.generateName")
			default:
				err = s.skip()
			}
			return err
		})
	})
	if err != nil {
		return err
	}
	rv.object = s.body[start:s.dec.InputOffset()]
	if rv.name == "" {
		rv.name = name
	}
	if rv.name == "" {
		rv.name = generateName
	}
	return nil
}

// members reads an object, calling fn with each member's name; fn must consume the value.
func (s *reviewScanner) members(field string, fn func(name []byte) error) error {
	var start int64
	return s.membersAt(&start, field, fn)
}

// membersAt is members that also reports the offset of the object's opening brace.
func (s *reviewScanner) membersAt(start *int64, field string, fn func(name []byte) error) error {
	tok, err := s.dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '{' {
		return fmt.Errorf("%s must be an object, not %s", field, kindName(tok.Kind()))
	}
	*start = s.dec.InputOffset() - 1
	for s.dec.PeekKind() == '"' {
		v, err := s.dec.ReadValue()
		if err != nil {
			return err
		}
		name, err := s.unquote(v)
		if err != nil {
			return err
		}
		if err := fn(name); err != nil {
			return err
		}
	}
	_, err = s.dec.ReadToken() // the closing brace, or the syntax error that stopped the loop
	return err
}

// skip steps over a value. ReadValue rather than SkipValue: with a bytes.Buffer source it
// copies nothing, and it scans objects and arrays in one tight loop, not token by token.
func (s *reviewScanner) skip() error {
	_, err := s.dec.ReadValue()
	return err
}

// str reads a string value; null reads as "".
func (s *reviewScanner) str(field string) (string, error) {
	v, err := s.dec.ReadValue()
	if err != nil {
		return "", err
	}
	switch v.Kind() {
	case 'n':
		return "", nil
	case '"':
		b, err := s.unquote(v)
		return string(b), err
	}
	return "", fmt.Errorf("%s must be a string, not %s", field, kindName(v.Kind()))
}

// unquote returns the content of a JSON string. Without escapes, the common case, it is
// a slice of v; otherwise it is decoded into the scanner's scratch buffer.
func (s *reviewScanner) unquote(v jsontext.Value) ([]byte, error) {
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, nil
	}
	var err error
	s.scratch, err = jsontext.AppendUnquote(s.scratch[:0], v)
	return s.scratch, err
}

// syntaxError words a tokenizer error for the HTTP response.
func syntaxError(err error) error {
	if err == io.EOF {
		return errors.New("the body is empty")
	}
	return fmt.Errorf("the body is not a valid AdmissionReview: %w", err)
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "nothing"
}
