package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tandem-io/tandem/internal/config"
)

// quote writes s as a CEL string literal. What CEL requires is escaped, and every
// character unicode.IsPrint rejects (control characters, U+0085, U+2028, U+00A0, ...):
// YAML folds some of them into spaces or line breaks when the compiled policy is read
// back, and then the policy would write another value than the webhook. The rest is
// written as it is, so that the compiled policy reads like its configuration.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\'' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == utf8.RuneError || !unicode.IsPrint(r):
			escapeRune(&b, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// escapeRune writes r as CEL's \uXXXX, or \UXXXXXXXX beyond the Basic Multilingual Plane.
func escapeRune(b *strings.Builder, r rune) {
	if r > 0xffff {
		fmt.Fprintf(b, `\U%08x`, r)
		return
	}
	fmt.Fprintf(b, `\u%04x`, r)
}

// quoteList writes a list of string literals.
func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// literal writes a JSON value decoded from the configuration as a CEL value. Template
// strings go through str, which turns them into CEL string expressions.
func literal(path string, v any, str func(path, s string) (string, error)) (string, error) {
	switch v := v.(type) {
	case nil:
		return "null", nil
	case bool:
		return strconv.FormatBool(v), nil
	case string:
		e, err := str(path, v)
		if err != nil {
			return "", &fieldError{path: path, err: err}
		}
		return e, nil
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return v.String(), nil
		}
		f, err := v.Float64()
		if err != nil {
			return "", fmt.Errorf("%s: number %s has no CEL form", path, v)
		}
		return strconv.FormatFloat(f, 'g', -1, 64) + suffixIfIntegral(f), nil
	case []any:
		items := make([]string, len(v))
		var errs []error // every field CEL cannot express, not only the first
		for i, e := range v {
			s, err := literal(fmt.Sprintf("%s[%d]", path, i), e, str)
			errs = append(errs, err)
			items[i] = s
		}
		if err := errors.Join(errs...); err != nil {
			return "", err
		}
		return "[" + strings.Join(dynIfMixed(items, v), ", ") + "]", nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		values := make([]string, len(keys))
		raw := make([]any, len(keys))
		var errs []error
		for i, k := range keys {
			s, err := literal(config.JoinField(path, k), v[k], str)
			errs = append(errs, err)
			values[i], raw[i] = s, v[k]
		}
		if err := errors.Join(errs...); err != nil {
			return "", err
		}
		values = dynIfMixed(values, raw)
		entries := make([]string, len(keys))
		for i, k := range keys {
			entries[i] = quote(k) + ": " + values[i]
		}
		return "{" + strings.Join(entries, ", ") + "}", nil
	}
	return "", fmt.Errorf("%s: a %T has no CEL form", path, v)
}

// suffixIfIntegral keeps a float written as 1e3 a double in CEL.
func suffixIfIntegral(f float64) string {
	if s := strconv.FormatFloat(f, 'g', -1, 64); !strings.ContainsAny(s, ".eE") {
		return ".0"
	}
	return ""
}

// dynIfMixed wraps the elements in dyn() unless all are strings, or all numbers of one
// kind, or all booleans: CEL types a list or map literal by its elements, and rejects
// one whose elements differ.
func dynIfMixed(items []string, raw []any) []string {
	kind := func(v any) string {
		switch v := v.(type) {
		case string, bool:
			return fmt.Sprintf("%T", v)
		case json.Number:
			if _, err := v.Int64(); err == nil {
				return "int"
			}
			return "double"
		}
		return "other"
	}
	same := true
	for _, v := range raw {
		if k := kind(v); k == "other" || k != kind(raw[0]) {
			same = false
		}
	}
	if same {
		return items
	}
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = "dyn(" + s + ")"
	}
	return out
}

// pointerKey escapes a map key for a JSON Pointer (RFC 6901).
func pointerKey(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// ident turns a sidecar name (a DNS label) into the start of a CEL identifier.
func ident(name string) string {
	return "s_" + strings.ReplaceAll(name, "-", "_")
}

// fieldError names the field whose value has no CEL form.
type fieldError struct {
	path string
	err  error
}

func (e *fieldError) Error() string { return e.path + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }
