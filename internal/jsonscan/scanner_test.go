package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestReadsChosenMembers(t *testing.T) {
	doc := []byte(` {"skip": {"deep": [1, "]}", {"x": null}], "s": "a\"b"}, "name": "pod", "n": 42,
		"list": [ {"k": "v1"}, {"k": "v\u00e92"} ], "t": true, "f": false, "z": null, "e": -1.5e3 } `)
	s := New(doc)
	var name string
	var n int64
	var ks []string
	if !s.BeginObject() {
		t.Fatal(s.Err())
	}
	for key, ok := s.NextKey(); ok; key, ok = s.NextKey() {
		switch string(key) {
		case "name":
			name = s.String()
		case "n":
			n = s.Int()
		case "list":
			s.BeginArray()
			for s.NextElement() {
				s.BeginObject()
				for k, ok := s.NextKey(); ok; k, ok = s.NextKey() {
					if string(k) == "k" {
						ks = append(ks, s.String())
					} else {
						s.Skip()
					}
				}
			}
		default:
			s.Skip()
		}
	}
	if err := s.End(); err != nil {
		t.Fatal(err)
	}
	if name != "pod" || n != 42 || len(ks) != 2 || ks[0] != "v1" || ks[1] != "vé2" {
		t.Fatalf("read name=%q n=%d ks=%q", name, n, ks)
	}
}

func TestRejectsMalformedInput(t *testing.T) {
	tests := map[string]string{
		"an unterminated string":       `{"a": "b}`,
		"an unterminated object":       `{"a": {"b": 1}`,
		"mismatched brackets":          `{"a": [1, 2}}`,
		"a missing colon":              `{"a" 1}`,
		"a missing comma":              `{"a": 1 "b": 2}`,
		"a trailing comma":             `{"a": 1,}`,
		"a leading comma":              `{, "a": 1}`,
		"trailing data":                `{"a": 1} x`,
		"a bad literal":                `{"a": nul}`,
		"a control character":          "{\"a\": \"x\x01y\"}",
		"a bad escape":                 `{"a": "\q"}`,
		"nothing":                      ``,
		"a key that is not a string":   `{1: 2}`,
		"an array where object wanted": `[1]`,
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			s := New([]byte(doc))
			if s.BeginObject() {
				for _, ok := s.NextKey(); ok; _, ok = s.NextKey() {
					if s.Peek() == '"' {
						_ = s.String()
					} else {
						s.Skip()
					}
				}
			}
			if s.End() == nil {
				t.Fatalf("%q was accepted", doc)
			}
		})
	}
}

func TestRawReturnsTheValue(t *testing.T) {
	s := New([]byte(`{"object": {"a": [1, {"b": "}"}]} , "x": 1}`))
	s.BeginObject()
	s.NextKey()
	raw := s.Raw()
	if string(raw) != `{"a": [1, {"b": "}"}]}` {
		t.Fatalf("raw = %s", raw)
	}
}

func TestDepthIsBounded(t *testing.T) {
	doc := bytes.Repeat([]byte("["), maxDepth+1)
	s := New(doc)
	s.Skip()
	if s.Err() == nil {
		t.Fatal("unbounded nesting was accepted")
	}
}

// FuzzScanner walks arbitrary input, reading every string and skipping everything else:
// it must never panic, must accept what encoding/json accepts, and must read the same
// strings as encoding/json.
func FuzzScanner(f *testing.F) {
	f.Add([]byte(`{"a": "b", "c": [1, 2, {"d": null}], "e": "\u00e9\n"}`))
	f.Add([]byte(`{"a": {"b": {"c": "\"\\"}}}`))
	f.Add([]byte(`{"a": [}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		s := New(doc)
		got := map[string]string{}
		if s.Peek() == '{' && s.BeginObject() {
			for key, ok := s.NextKey(); ok; key, ok = s.NextKey() {
				k := string(key)
				if s.Peek() == '"' {
					got[k] = s.String()
				} else {
					s.Skip()
				}
			}
		} else {
			s.Skip()
		}
		err := s.End()
		var want map[string]any
		strictErr := json.Unmarshal(doc, &want)
		if json.Valid(doc) && err != nil {
			t.Fatalf("valid JSON rejected: %v\n%q", err, doc)
		}
		if !json.Valid(doc) && err == nil && utf8.Valid(doc) {
			t.Fatalf("invalid JSON accepted: %q", doc)
		}
		if strictErr != nil || err != nil {
			if New(doc).Peek() == '{' {
				s = New(doc)
				s.StringMember("a")
				if s.End() == nil && !json.Valid(doc) && utf8.Valid(doc) {
					t.Fatalf("StringMember accepts invalid JSON: %q", doc)
				}
			}
			return
		}
		for k, v := range got {
			if w, ok := want[k].(string); ok && w != v && utf8.ValidString(v) && !duplicateKeys(doc) {
				t.Fatalf("member %q read as %q, encoding/json reads %q", k, v, w)
			}
		}
		// StringMember reads the same object in one loop: same verdict, same value.
		if New(doc).Peek() != '{' {
			return
		}
		s = New(doc)
		value, first := s.StringMember("a")
		if err := s.End(); err != nil {
			t.Fatalf("StringMember rejects what the member walk accepted: %v\n%q", err, doc)
		}
		if w, ok := want["a"].(string); ok && (first != '"' || value != w && utf8.ValidString(value)) {
			t.Fatalf("StringMember read %q (%q), encoding/json reads %q", value, first, w)
		}
	})
}

// duplicateKeys reports whether doc repeats a key, where the scanner (first) and
// encoding/json (last) legitimately differ.
func duplicateKeys(doc []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(doc))
	seen := map[string]bool{}
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				depth++
			} else {
				depth--
			}
			expectKey = v == '{' && depth == 1
			continue
		case string:
			if depth == 1 && expectKey {
				if seen[v] {
					return true
				}
				seen[v] = true
				expectKey = false
				continue
			}
		}
		expectKey = depth == 1
	}
}

// TestStringsAreCheckedAtEveryOffset puts an escape or a control character at each offset
// of a long string, so that both the eight-bytes-at-a-time loop and the byte loop see it.
func TestStringsAreCheckedAtEveryOffset(t *testing.T) {
	for n := 0; n < 40; n++ {
		for _, special := range []string{`\"`, `\\`, `\u00e9`, "\x01", "\x1f", `\x`, "\xff"} {
			str := strings.Repeat("a", n) + special + strings.Repeat("b", 40-n)
			doc := []byte(`{"k": ["` + str + `", {"` + str + `": 1}]}`)
			s := New(doc)
			s.Skip()
			err := s.End()
			if valid := json.Valid(doc); valid != (err == nil) {
				t.Fatalf("%q: json.Valid says %v, the scanner says %v", doc, valid, err)
			}
			s = New(doc[len(`{"k": [`):])
			got := s.String()
			var want string
			if json.Unmarshal(doc[len(`{"k": [`):len(`{"k": [`)+len(str)+2], &want) == nil && got != want && utf8.ValidString(got) {
				t.Fatalf("%q read as %q, encoding/json reads %q", str, got, want)
			}
		}
	}
}

func TestStringMember(t *testing.T) {
	tests := []struct {
		doc, value string
		first      byte
		bad        bool
	}{
		{doc: `{"name":"a","value":"b"}`, value: "a", first: '"'},
		{doc: `{ "value" : {"x":[1,"}"]} , "name" : "a" }`, value: "a", first: '"'},
		{doc: `{"value":"b"}`},
		{doc: `{}`},
		{doc: `{"name":null}`, first: 'n'},
		{doc: `{"name":7}`, first: '7'},
		{doc: `{"name":"a","name":"b"}`, value: "b", first: '"'},
		{doc: `{"na\u006de":"a\nb"}`, value: "a\nb", first: '"'},
		{doc: `{"name":"a",}`, bad: true},
		{doc: `{"name" "a"}`, bad: true},
		{doc: `{"name":"a" "x":1}`, bad: true},
		{doc: `{name:"a"}`, bad: true},
		{doc: `{"name":"a"`, bad: true},
		{doc: `["name"]`, bad: true},
	}
	for _, tc := range tests {
		s := New([]byte(tc.doc))
		value, first := s.StringMember("name")
		err := s.End()
		if tc.bad {
			if err == nil {
				t.Errorf("%s: accepted", tc.doc)
			}
			continue
		}
		if err != nil || value != tc.value || first != tc.first {
			t.Errorf("%s: got %q, %q, %v; want %q, %q", tc.doc, value, first, err, tc.value, tc.first)
		}
	}
}
