package validators

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"testing"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tandem-io/tandem/internal/benchdata"
	"github.com/tandem-io/tandem/internal/inject"
	"github.com/tandem-io/tandem/internal/jsonscan"
)

// BenchmarkReadReview compares what Tandem's webhook does per admission, reading an
// AdmissionReview (the members that route the request, and request.object as the engine's
// pod view: metadata names, labels, annotations, container names, ports, env names,
// mount paths, volume and pull secret names, hostNetwork) while checking the rest, done
// with jsonscan and with go-json-experiment's jsontext.Decoder reading the same fields:
//
//	cd hack/validators && go test -run '^$' -bench ReadReview -benchmem -count 5
//
// jsontext reads tokens with the checks jsonscan makes (AllowDuplicateNames and
// AllowInvalidUTF8); jsontext-strict adds its default checks, duplicate names and UTF-8.
// Both reuse their memory from review to review and keep the strings they read in one
// reused buffer, as the view aliases the request body: neither allocates per string.
func BenchmarkReadReview(b *testing.B) {
	for _, payload := range benchdata.Payloads {
		data, err := benchdata.Review(payload)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range reviewReaders() {
			b.Run(payload+"/"+r.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				var buf bytes.Buffer
				for b.Loop() {
					buf.Reset()
					buf.Write(data)
					if err := r.read(&buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

type reviewReader struct {
	name string
	read func(*bytes.Buffer) error
}

func reviewReaders() []reviewReader {
	scan := &scanReader{}
	text := &textReader{opts: []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}}
	strict := &textReader{}
	return []reviewReader{
		{"jsonscan", func(buf *bytes.Buffer) error { _, err := scan.read(buf); return err }},
		{"jsontext", func(buf *bytes.Buffer) error { _, err := text.read(buf); return err }},
		{"jsontext-strict", func(buf *bytes.Buffer) error { _, err := strict.read(buf); return err }},
	}
}

// TestReadersReadTheSame holds both readers to encoding/json on the reference reviews, so
// that the benchmark compares the same work.
func TestReadersReadTheSame(t *testing.T) {
	for _, payload := range benchdata.Payloads {
		data, err := benchdata.Review(payload)
		if err != nil {
			t.Fatal(err)
		}
		var want struct {
			Request struct {
				UID    string `json:"uid"`
				Object struct {
					Metadata struct {
						Name, GenerateName string
						Labels             map[string]string
					}
					Spec struct {
						Containers []struct {
							Env []struct{ Name string }
						}
					}
				}
			}
		}
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		wantName := want.Request.Object.Metadata.Name
		if wantName == "" {
			wantName = want.Request.Object.Metadata.GenerateName
		}
		var wantEnv []string
		for _, c := range want.Request.Object.Spec.Containers {
			for _, e := range c.Env {
				wantEnv = append(wantEnv, e.Name)
			}
		}

		scanned, err := (&scanReader{}).read(bytes.NewBuffer(data))
		if err != nil {
			t.Fatalf("%s: jsonscan: %v", payload, err)
		}
		if scanned.uid != want.Request.UID || scanned.pod.Name() != wantName || scanned.operation != "CREATE" {
			t.Errorf("%s: jsonscan reads uid %q, pod %q, operation %q", payload, scanned.uid, scanned.pod.Name(), scanned.operation)
		}
		for _, opts := range [][]jsontext.Options{nil, {jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}} {
			r := &textReader{opts: opts}
			for range 2 { // the second time into reused memory
				rv, err := r.read(bytes.NewBuffer(data))
				if err != nil {
					t.Fatalf("%s: jsontext: %v", payload, err)
				}
				var env []string
				for _, c := range rv.pod.containers {
					env = append(env, c.env...)
				}
				name := rv.pod.name
				if name == "" {
					name = rv.pod.generateName
				}
				if rv.uid != want.Request.UID || name != wantName || rv.operation != "CREATE" ||
					!maps.Equal(rv.pod.labels, want.Request.Object.Metadata.Labels) || !slices.Equal(env, wantEnv) {
					t.Errorf("%s: jsontext reads uid %q, pod %q, operation %q, labels %v, %d env names",
						payload, rv.uid, name, rv.operation, rv.pod.labels, len(env))
				}
			}
		}
	}
}

// TestJSONTextChecksLikeJSONScan: the readers agree on what is broken, so that neither
// is faster for checking less.
func TestJSONTextChecksLikeJSONScan(t *testing.T) {
	data, err := benchdata.Review("typical")
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(`"managedFields"`))
	if i < 0 {
		t.Fatal("the typical review has no managedFields")
	}
	broken := map[string][]byte{
		"trailing comma in a skipped object": slices.Concat(data[:i], []byte(`"x":{"a":1,},`), data[i:]),
		"bad escape in a skipped string":     slices.Concat(data[:i], []byte(`"x":"\q",`), data[i:]),
		"control character in a skipped one": slices.Concat(data[:i], []byte("\"x\":\"\x01\","), data[i:]),
		"a truncated review":                 data[:len(data)-2],
	}
	for what, doc := range broken {
		if _, err := (&scanReader{}).read(bytes.NewBuffer(doc)); err == nil {
			t.Errorf("%s: jsonscan accepts it", what)
		}
		if _, err := (&textReader{}).read(bytes.NewBuffer(doc)); err == nil {
			t.Errorf("%s: jsontext accepts it", what)
		}
	}
}

// review is what the webhook reads of an AdmissionReview.
type review struct {
	apiVersion, kind, uid, operation, namespace, name string
	kindGroup, kindKind, resourceGroup, resource      string
	subResource                                       string
}

// scanReader reads a review as the webhook does: jsonscan for the review, the engine's
// Pod.Read for request.object in the same pass.
type scanReader struct {
	s   jsonscan.Scanner
	pod inject.Pod
}

type scanned struct {
	review
	pod *inject.Pod
}

func (r *scanReader) read(buf *bytes.Buffer) (scanned, error) {
	var rv scanned
	r.s.Reset(buf.Bytes())
	s := &r.s
	str := func() string {
		if s.Peek() == '"' {
			return s.String()
		}
		s.Skip()
		return ""
	}
	groupAnd := func(member string, group, other *string) {
		if !s.BeginObject() {
			return
		}
		for key, ok := s.NextKey(); ok; key, ok = s.NextKey() {
			switch string(key) {
			case "group":
				*group = str()
			case member:
				*other = str()
			default:
				s.Skip()
			}
		}
	}
	if s.BeginObject() {
		for key, ok := s.NextKey(); ok; key, ok = s.NextKey() {
			switch string(key) {
			case "apiVersion":
				rv.apiVersion = str()
			case "kind":
				rv.kind = str()
			case "request":
				if !s.BeginObject() {
					break
				}
				for key, ok := s.NextKey(); ok; key, ok = s.NextKey() {
					switch string(key) {
					case "uid":
						rv.uid = str()
					case "kind":
						groupAnd("kind", &rv.kindGroup, &rv.kindKind)
					case "resource":
						groupAnd("resource", &rv.resourceGroup, &rv.resource)
					case "subResource":
						rv.subResource = str()
					case "operation":
						rv.operation = str()
					case "namespace":
						rv.namespace = str()
					case "name":
						rv.name = str()
					case "object":
						if err := r.pod.Read(s); err != nil {
							return rv, err
						}
						rv.pod = &r.pod
					default:
						s.Skip()
					}
				}
			default:
				s.Skip()
			}
		}
	}
	if rv.pod == nil && s.Err() == nil {
		return rv, errors.New("no request.object")
	}
	return rv, s.End()
}

// textPod is the engine's pod view, read with jsontext.
type textPod struct {
	name, generateName, namespace string
	labels, annotations           map[string]string
	containers, initContainers    []textContainer
	volumes, pullSecrets          []string
	hostNetwork                   bool
}

type textContainer struct {
	name        string
	ports       []textPort
	env, mounts []string
}

type textPort struct {
	containerPort int32
	protocol      string
}

type textReview struct {
	review
	pod *textPod
}

// textReader reads a review with a reused jsontext.Decoder. Strings it keeps are
// unquoted into one reused buffer.
type textReader struct {
	opts    []jsontext.Options
	dec     jsontext.Decoder
	strings []byte
	key     []byte
	pod     textPod
}

func (r *textReader) read(buf *bytes.Buffer) (textReview, error) {
	var rv textReview
	r.dec.Reset(buf, r.opts...)
	r.strings = r.strings[:0]
	err := r.object(func(key string) error {
		switch key {
		case "apiVersion":
			return r.str(&rv.apiVersion)
		case "kind":
			return r.str(&rv.kind)
		case "request":
			return r.object(func(key string) error {
				switch key {
				case "uid":
					return r.str(&rv.uid)
				case "kind":
					return r.groupAnd("kind", &rv.kindGroup, &rv.kindKind)
				case "resource":
					return r.groupAnd("resource", &rv.resourceGroup, &rv.resource)
				case "subResource":
					return r.str(&rv.subResource)
				case "operation":
					return r.str(&rv.operation)
				case "namespace":
					return r.str(&rv.namespace)
				case "name":
					return r.str(&rv.name)
				case "object":
					rv.pod = &r.pod
					return r.readPod(&r.pod)
				}
				return r.dec.SkipValue()
			})
		}
		return r.dec.SkipValue()
	})
	if err != nil {
		return rv, err
	}
	if _, err := r.dec.ReadToken(); !errors.Is(err, io.EOF) {
		return rv, fmt.Errorf("data after the review: %v", err)
	}
	return rv, nil
}

func (r *textReader) groupAnd(member string, group, other *string) error {
	return r.object(func(key string) error {
		switch key {
		case "group":
			return r.str(group)
		case member:
			return r.str(other)
		}
		return r.dec.SkipValue()
	})
}

func (r *textReader) readPod(p *textPod) error {
	*p = textPod{
		labels: p.labels, annotations: p.annotations,
		containers: p.containers[:0], initContainers: p.initContainers[:0],
		volumes: p.volumes[:0], pullSecrets: p.pullSecrets[:0],
	}
	clear(p.labels)
	clear(p.annotations)
	return r.object(func(key string) error {
		switch key {
		case "metadata":
			return r.object(func(key string) error {
				switch key {
				case "name":
					return r.str(&p.name)
				case "generateName":
					return r.str(&p.generateName)
				case "namespace":
					return r.str(&p.namespace)
				case "labels":
					return r.strMap(&p.labels)
				case "annotations":
					return r.strMap(&p.annotations)
				}
				return r.dec.SkipValue()
			})
		case "spec":
			return r.object(func(key string) error {
				var err error
				switch key {
				case "containers":
					p.containers, err = r.containers(p.containers)
				case "initContainers":
					p.initContainers, err = r.containers(p.initContainers)
				case "volumes":
					p.volumes, err = r.names("name", p.volumes)
				case "imagePullSecrets":
					p.pullSecrets, err = r.names("name", p.pullSecrets)
				case "hostNetwork":
					var tok jsontext.Token
					if tok, err = r.dec.ReadToken(); err == nil && !bytes.ContainsRune([]byte("tfn"), rune(tok.Kind())) {
						err = errors.New("spec.hostNetwork must be a boolean")
					}
					p.hostNetwork = tok.Kind() == 't'
				default:
					err = r.dec.SkipValue()
				}
				return err
			})
		}
		return r.dec.SkipValue()
	})
}

func (r *textReader) containers(out []textContainer) ([]textContainer, error) {
	out = out[:0]
	err := r.array(func() error {
		out = slices.Grow(out, 1)[:len(out)+1]
		c := &out[len(out)-1]
		*c = textContainer{ports: c.ports[:0], env: c.env[:0], mounts: c.mounts[:0]}
		return r.object(func(key string) error {
			var err error
			switch key {
			case "name":
				err = r.str(&c.name)
			case "ports":
				c.ports, err = r.ports(c.ports)
			case "env":
				c.env, err = r.names("name", c.env)
			case "volumeMounts":
				c.mounts, err = r.names("mountPath", c.mounts)
			default:
				err = r.dec.SkipValue()
			}
			return err
		})
	})
	return out, err
}

func (r *textReader) ports(out []textPort) ([]textPort, error) {
	out = out[:0]
	err := r.array(func() error {
		var p textPort
		err := r.object(func(key string) error {
			switch key {
			case "containerPort":
				v, err := r.dec.ReadValue()
				if err != nil {
					return err
				}
				n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(v), len(v)), 10, 32)
				p.containerPort = int32(n)
				return err
			case "protocol":
				return r.str(&p.protocol)
			}
			return r.dec.SkipValue()
		})
		out = append(out, p)
		return err
	})
	return out, err
}

// names reads one string member of each object of a list.
func (r *textReader) names(member string, out []string) ([]string, error) {
	out = out[:0]
	err := r.array(func() error {
		var name string
		err := r.object(func(key string) error {
			if key == member {
				return r.str(&name)
			}
			return r.dec.SkipValue()
		})
		out = append(out, name)
		return err
	})
	return out, err
}

func (r *textReader) strMap(m *map[string]string) error {
	if *m == nil {
		*m = map[string]string{}
	}
	return r.object(func(key string) error {
		k := r.keep(key) // key may point into r.key, which the next name overwrites
		var v string
		err := r.str(&v)
		(*m)[k] = v
		return err
	})
}

// object reads an object (or null), calling member for each member with its name, which
// is valid until the next call. member must read or skip the value.
func (r *textReader) object(member func(key string) error) error {
	tok, err := r.dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '{':
	default:
		return fmt.Errorf("an object expected at offset %d", r.dec.InputOffset())
	}
	for r.dec.PeekKind() == '"' {
		name, err := r.dec.ReadValue()
		if err != nil {
			return err
		}
		if err := member(r.unquoteKey(name)); err != nil {
			return err
		}
	}
	_, err = r.dec.ReadToken() // '}', or the error that stopped the loop
	return err
}

// array reads an array (or null), calling element for each element.
func (r *textReader) array(element func() error) error {
	tok, err := r.dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '[':
	default:
		return fmt.Errorf("a list expected at offset %d", r.dec.InputOffset())
	}
	for k := r.dec.PeekKind(); k != ']' && k != 0; k = r.dec.PeekKind() {
		if err := element(); err != nil {
			return err
		}
	}
	_, err = r.dec.ReadToken()
	return err
}

// str reads a string (or null) into *s.
func (r *textReader) str(s *string) error {
	v, err := r.dec.ReadValue()
	if err != nil {
		return err
	}
	switch v.Kind() {
	case 'n':
		*s = ""
	case '"':
		*s = r.keepQuoted(v)
	default:
		return fmt.Errorf("a string expected at offset %d", r.dec.InputOffset())
	}
	return nil
}

// unquoteKey returns a member name without allocating: as it is when it has no escapes,
// else unquoted into r.key.
func (r *textReader) unquoteKey(quoted []byte) string {
	b := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(b, '\\') >= 0 {
		r.key, _ = jsontext.AppendUnquote(r.key[:0], quoted) // the decoder has checked it
		b = r.key
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// keepQuoted unquotes a string into r.strings and returns it.
func (r *textReader) keepQuoted(quoted []byte) string {
	start := len(r.strings)
	r.strings, _ = jsontext.AppendUnquote(r.strings, quoted)
	return r.stringAt(start)
}

func (r *textReader) keep(s string) string {
	start := len(r.strings)
	r.strings = append(r.strings, s...)
	return r.stringAt(start)
}

// stringAt aliases r.strings[start:]: when r.strings grows, the strings before keep the
// old array, which nothing writes again during this review.
func (r *textReader) stringAt(start int) string {
	b := r.strings[start:]
	return unsafe.String(unsafe.SliceData(b), len(b))
}
