package tmpl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/template"

	"github.com/go-json-experiment/json/jsontext"
)

// JSON is a JSON value prepared at config load: literal bytes with holes where a string
// held a template. A JSON without holes renders to the same bytes every time.
type JSON struct {
	parts []part
}

// part is a literal run of JSON, or a hole: a template whose output becomes a JSON string.
type part struct {
	literal []byte
	hole    *template.Template
	fast    fastTemplate // the hole's reflection-free form, when it has one
}

// hole marks a template string while the value is re-marshalled; a NUL cannot occur in a
// Kubernetes field a user writes, so the marker cannot collide with real content.
const holeMark = "\x00tandem-hole\x00"

// Compile turns a JSON value into a JSON with holes. path names the value in errors
// (e.g. "containers[0]"); a template that does not parse is reported with its own path.
func Compile(path string, value []byte) (*JSON, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber() // keep numbers exactly as written
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var holes []*template.Template
	v, err := markTemplates(path, v, &holes)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	marked := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	quotedMark, _ := json.Marshal(holeMark)
	j := &JSON{}
	for i, lit := range bytes.Split(marked, quotedMark) {
		if len(lit) > 0 {
			j.parts = append(j.parts, part{literal: bytes.Clone(lit)})
		}
		if i < len(holes) {
			j.parts = append(j.parts, part{hole: holes[i], fast: fastForm(holes[i])})
		}
	}
	return j, nil
}

// markTemplates replaces every template string in v by holeMark, in the order that
// encoding/json marshals them (object keys sorted), and collects the parsed templates.
func markTemplates(path string, v any, holes *[]*template.Template) (any, error) {
	switch v := v.(type) {
	case string:
		if !IsTemplate(v) {
			return v, nil
		}
		t, err := Parse(path, v)
		if err != nil {
			return nil, err
		}
		*holes = append(*holes, t)
		return holeMark, nil
	case []any:
		for i := range v {
			var err error
			if v[i], err = markTemplates(fmt.Sprintf("%s[%d]", path, i), v[i], holes); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var err error
			if v[k], err = markTemplates(path+"."+k, v[k], holes); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// Append renders j with d and appends the JSON to dst.
func (j *JSON) Append(dst []byte, d *Data) ([]byte, error) {
	var scratch [256]byte // for fast templates of several pieces; stays on the stack
	for _, p := range j.parts {
		if p.hole == nil {
			dst = append(dst, p.literal...)
			continue
		}
		if p.fast != nil {
			var ok bool
			if dst, ok = p.fast.appendQuoted(dst, d, scratch[:0]); ok {
				continue
			}
		}
		var err error
		if dst, err = appendExecuted(dst, p.hole, d); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// appendExecuted runs a template with text/template and appends its output as a JSON
// string.
func appendExecuted(dst []byte, t *template.Template, d *Data) ([]byte, error) {
	var sb strings.Builder
	if err := t.Execute(&sb, d); err != nil {
		return dst, err
	}
	// Only invalid UTF-8 makes AppendQuote fail, and it has replaced it by then.
	dst, _ = jsontext.AppendQuote(dst, sb.String())
	return dst, nil
}

// Render is Append to a fresh slice.
func (j *JSON) Render(d *Data) ([]byte, error) { return j.Append(nil, d) }
