package policy

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// evalString evaluates the CEL string expressions the compiler writes for messages: a
// sum of string literals and strings.quote() of literals, with the semantics of the CEL
// specification and of cel-go's strings extension. It is small on purpose, so that the
// tests compare the compiler's CEL with the engine's Go without a CEL interpreter.
func evalString(expr string) (string, error) {
	var out strings.Builder
	rest := strings.TrimSpace(expr)
	for {
		quoted := false
		if r, ok := strings.CutPrefix(rest, "strings.quote("); ok {
			quoted, rest = true, r
		}
		s, r, err := celLiteral(rest)
		if err != nil {
			return "", fmt.Errorf("%w in %s", err, expr)
		}
		if quoted {
			var ok bool
			if r, ok = strings.CutPrefix(r, ")"); !ok {
				return "", fmt.Errorf("strings.quote( not closed in %s", expr)
			}
			s = celQuote(s)
		}
		out.WriteString(s)
		rest = strings.TrimSpace(r)
		if rest == "" {
			return out.String(), nil
		}
		if rest, _ = strings.CutPrefix(rest, "+"); rest == "" {
			return "", fmt.Errorf("a trailing + in %s", expr)
		}
		rest = strings.TrimSpace(rest)
	}
}

// celLiteral reads one single-quoted CEL string literal at the start of s.
func celLiteral(s string) (value, rest string, err error) {
	if !strings.HasPrefix(s, "'") {
		return "", "", fmt.Errorf("not a string literal at %.20q", s)
	}
	var b strings.Builder
	for i := 1; i < len(s); {
		c := s[i]
		switch {
		case c == '\'':
			return b.String(), s[i+1:], nil
		case c != '\\':
			r, n := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r)
			i += n
			continue
		}
		if i+1 >= len(s) {
			break
		}
		e := s[i+1]
		simple := map[byte]string{'n': "\n", 'r': "\r", 't': "\t", 'a': "\a", 'b': "\b", 'f': "\f", 'v': "\v", '\\': "\\", '\'': "'", '"': "\"", '`': "`", '?': "?"}
		if v, ok := simple[e]; ok {
			b.WriteString(v)
			i += 2
			continue
		}
		digits := map[byte]int{'u': 4, 'U': 8, 'x': 2, 'X': 2}[e]
		if digits == 0 || i+2+digits > len(s) {
			return "", "", fmt.Errorf("bad escape \\%c", e)
		}
		n, perr := strconv.ParseUint(s[i+2:i+2+digits], 16, 32)
		if perr != nil {
			return "", "", fmt.Errorf("bad escape %s", s[i:i+2+digits])
		}
		b.WriteRune(rune(n))
		i += 2 + digits
	}
	return "", "", fmt.Errorf("unterminated string literal %.20q", s)
}

// celQuote is cel-go's strings.quote: a double-quoted string with the C escapes, every
// other character as it is.
func celQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\ufffd") {
		switch r {
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\v':
			b.WriteString(`\v`)
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
