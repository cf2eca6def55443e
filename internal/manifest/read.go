package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/internal/output"
)

// Document is one YAML document (or the one JSON value) of the input.
type Document struct {
	Number int            // 1-based, in input order
	Object map[string]any // numbers are json.Number, so they come out as they went in
}

// ErrNoObjects is Read's error for input without a single object: empty, or only
// comments and document separators. It is one rule for every command, so that no
// command writes an output another refuses to read.
var ErrNoObjects = errors.New("no Kubernetes objects in it (it is empty, or holds only comments)")

// Read splits data into documents. Empty documents (only comments or whitespace) are
// dropped; a document that is not a mapping is an error naming it, and so is input
// without any object (ErrNoObjects).
func Read(data []byte) ([]Document, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []Document
	for n := 1; ; n++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			if len(docs) == 0 {
				return nil, ErrNoObjects
			}
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		js, err := toJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d: not valid YAML or JSON: %w", n, err)
		}
		if js = bytes.TrimSpace(js); string(js) == "null" || len(js) == 0 {
			n--
			continue
		}
		obj, err := decodeObject(js)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		docs = append(docs, Document{Number: n, Object: obj})
	}
}

// toJSON converts a YAML document to JSON; a JSON one is taken as it is, so that JSON the
// YAML parser has limits on (keys over 1024 bytes) still gets the error that explains.
func toJSON(raw []byte) ([]byte, error) {
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' && json.Valid(t) {
		return t, nil
	}
	return yaml.YAMLToJSON(raw)
}

func decodeObject(js []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, errors.New("not a Kubernetes object (a mapping with apiVersion and kind)")
	}
	if err := checkKeys(obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// maxKeyLen is the longest mapping key YAML writes as a plain key and reads back; the
// YAML side of the JSON round trip refuses longer ones, so they are refused on input
// rather than after the work is done.
const maxKeyLen = 1024

func checkKeys(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if len(k) > maxKeyLen {
				return fmt.Errorf("a mapping key is %d bytes long (it starts %.20q); keys longer than %d bytes cannot be written back as YAML", len(k), k, maxKeyLen)
			}
			if err := checkKeys(child); err != nil {
				return err
			}
		}
	case []any:
		for _, child := range v {
			if err := checkKeys(child); err != nil {
				return err
			}
		}
	}
	return nil
}

// marshalYAML is sigs.k8s.io/yaml's Marshal (JSON, then YAML with sorted keys, as
// kubectl writes), with the characters a YAML parser refuses escaped on the way.
func marshalYAML(obj map[string]any) ([]byte, error) {
	js, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(output.EscapeForYAML(js))
}

// WriteYAML writes the documents as multi-document YAML.
func WriteYAML(w io.Writer, docs []Document) error {
	for i, d := range docs {
		out, err := marshalYAML(d.Object)
		if err != nil {
			return fmt.Errorf("document %d: %w", d.Number, err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes one document as indented JSON, several as a v1 List, as kubectl does.
func WriteJSON(w io.Writer, docs []Document) error {
	var v any
	if len(docs) == 1 {
		v = docs[0].Object
	} else {
		items := make([]any, len(docs))
		for i, d := range docs {
			items[i] = d.Object
		}
		v = map[string]any{"apiVersion": "v1", "kind": "List", "items": items}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
