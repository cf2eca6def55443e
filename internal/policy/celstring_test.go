package policy

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// evalString evaluates the CEL string expressions the compiler writes for messages: sums
// of string literals, parentheses and strings.quote(), with the semantics of the CEL
// specification and of cel-go's strings extension. It is small on purpose, so that the
// tests compare the compiler's CEL with the engine's Go without a CEL interpreter.
func evalString(expr string) (string, error) {
	v, rest, err := evalSum(expr)
	if err == nil && strings.TrimSpace(rest) != "" {
		err = fmt.Errorf("unexpected %.20q", rest)
	}
	if err != nil {
		return "", fmt.Errorf("%w in %s", err, expr)
	}
	return v, nil
}

func evalSum(s string) (string, string, error) {
	var out strings.Builder
	for {
		v, rest, err := evalTerm(strings.TrimSpace(s))
		if err != nil {
			return "", "", err
		}
		out.WriteString(v)
		rest = strings.TrimSpace(rest)
		after, more := strings.CutPrefix(rest, "+")
		if !more {
			return out.String(), rest, nil
		}
		s = after
	}
}

func evalTerm(s string) (string, string, error) {
	inner, quoted := strings.CutPrefix(s, "strings.quote(")
	if !quoted {
		var paren bool
		if inner, paren = strings.CutPrefix(s, "("); !paren {
			return celLiteral(s)
		}
	}
	v, rest, err := evalSum(inner)
	if err != nil {
		return "", "", err
	}
	rest, closed := strings.CutPrefix(strings.TrimSpace(rest), ")")
	if !closed {
		return "", "", fmt.Errorf("a parenthesis is not closed before %.20q", rest)
	}
	if quoted {
		v = celQuote(v)
	}
	return v, rest, nil
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
