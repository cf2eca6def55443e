package output

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// EscapeForYAML escapes, in JSON text, the characters that JSON carries as they are but a
// YAML parser refuses ("control characters are not allowed": DEL, the C1 controls,
// U+FFFE, U+FFFF) or reads as something else (U+0085, a line break). Every YAML writer
// here goes through JSON and a YAML parser, so without this a string the CLI read could
// not be written back. Such characters can only be inside JSON strings, where a \u escape
// means the same character. JSON without them is returned as it is.
func EscapeForYAML(js []byte) []byte {
	i := bytes.IndexFunc(js, needsEscape)
	if i < 0 {
		return js
	}
	out := make([]byte, 0, len(js)+16)
	out = append(out, js[:i]...)
	for _, r := range string(js[i:]) {
		if needsEscape(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
			continue
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

func needsEscape(r rune) bool {
	return r >= 0x7f && r <= 0x9f || r == 0xfffe || r == 0xffff
}
