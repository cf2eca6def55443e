package jsonscan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unsafe"
)

// maxDepth bounds nesting, so that hostile input cannot make skipping unbounded work.
const maxDepth = 512

// Scanner walks one JSON document. Errors are sticky: after the first, every method
// returns a zero value and Err reports it, so callers check once at the end.
type Scanner struct {
	data []byte
	pos  int
	err  error
}

// New returns a scanner over data. Strings it returns may alias data: data must not be
// modified while they are in use.
func New(data []byte) *Scanner { return &Scanner{data: data} }

// Reset makes s scan data from the start, so a Scanner can be reused without allocating.
func (s *Scanner) Reset(data []byte) { *s = Scanner{data: data} }

// Err returns the first error met, if any.
func (s *Scanner) Err() error { return s.err }

// Offset is the position of the next byte to read.
func (s *Scanner) Offset() int { return s.pos }

// Rewind moves back to offset, a position Offset returned before, so that a caller who
// stopped reading a value half-way can Skip it whole. It does nothing after an error.
func (s *Scanner) Rewind(offset int) {
	if s.err == nil && offset >= 0 && offset <= s.pos {
		s.pos = offset
	}
}

// Data returns the bytes between two offsets, e.g. a value's raw JSON.
func (s *Scanner) Data(from, to int) []byte { return s.data[from:to:to] }

func (s *Scanner) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("invalid JSON at offset %d: %s", s.pos, fmt.Sprintf(format, args...))
	}
}

func (s *Scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// Peek returns the first byte of the next value ('{', '[', '"', 't', 'f', 'n', '-' or a
// digit), or 0 at the end of input or after an error.
func (s *Scanner) Peek() byte {
	s.skipSpace()
	if s.err != nil || s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// AtEnd reports whether only white space is left (Peek also says 0 for a NUL byte).
func (s *Scanner) AtEnd() bool {
	s.skipSpace()
	return s.pos >= len(s.data)
}

// Null consumes a null and reports whether there was one.
func (s *Scanner) Null() bool {
	if s.Peek() == 'n' {
		s.literal("null")
		return s.err == nil
	}
	return false
}

func (s *Scanner) expect(c byte) bool {
	if s.Peek() != c {
		if s.err == nil {
			s.fail("expected %q, found %s", c, s.found())
		}
		return false
	}
	s.pos++
	return true
}

func (s *Scanner) found() string {
	if s.pos >= len(s.data) {
		return "end of input"
	}
	return strconv.QuoteRune(rune(s.data[s.pos]))
}

// opened reports whether the last significant byte before pos opens a container, which
// tells a first member (no comma) from a later one without keeping state per level.
func (s *Scanner) opened() bool {
	for i := s.pos - 1; i >= 0; i-- {
		switch s.data[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// BeginObject consumes the '{' of an object; then call NextKey until it returns false.
func (s *Scanner) BeginObject() bool { return s.expect('{') }

// NextKey moves to the next member of the current object and returns its key, or
// reports false at the closing '}' (which it consumes) or on error. The caller must then
// read or Skip the member's value.
func (s *Scanner) NextKey() ([]byte, bool) {
	if s.next('}') {
		key := s.stringBytes()
		if s.expect(':') && s.err == nil {
			return key, true
		}
	}
	return nil, false
}

// BeginArray consumes the '[' of an array; then call NextElement until it returns false.
func (s *Scanner) BeginArray() bool { return s.expect('[') }

// NextElement reports whether the current array has another element, which the caller
// must then read or Skip; at the closing ']' it consumes it and reports false.
func (s *Scanner) NextElement() bool { return s.next(']') }

// next handles the separator before a member or element, or the closing byte.
func (s *Scanner) next(closing byte) bool {
	c := s.Peek()
	if s.err != nil {
		return false
	}
	switch {
	case c == closing:
		s.pos++
		return false
	case c != ',':
		if !s.opened() { // only the first member or element comes without a comma
			s.fail("expected ',' or %q, found %s", closing, s.found())
		}
		return s.err == nil
	case s.opened():
		s.fail("a comma before the first value")
		return false
	}
	s.pos++
	if c := s.Peek(); c == closing {
		s.fail("trailing comma")
	} else if s.AtEnd() {
		s.fail("unexpected end of input")
	}
	return s.err == nil
}

// String reads a string value; it aliases the input unless it holds escapes.
func (s *Scanner) String() string {
	b := s.stringBytes()
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (s *Scanner) stringBytes() []byte {
	if !s.expect('"') {
		return nil
	}
	start := s.pos
	end, escaped := s.stringEndEscaped()
	if s.err != nil {
		return nil
	}
	raw := s.data[start:end]
	s.pos = end + 1
	if !escaped {
		return raw // stringEnd has checked it: no control characters
	}
	// Rare: let encoding/json decode the escapes.
	var out string
	if err := json.Unmarshal(s.data[start-1:end+1], &out); err != nil {
		s.pos = start
		s.fail("bad string: %v", err)
		return nil
	}
	return []byte(out)
}

// stringEnd returns the index of the quote that closes the string starting at pos, checked
// on the way by scanString (skip.go).
func (s *Scanner) stringEnd() int {
	end, _ := s.stringEndEscaped()
	return end
}

// stringEndEscaped is stringEnd that also reports whether the string holds escapes.
func (s *Scanner) stringEndEscaped() (end int, escaped bool) {
	end, escaped, fault := scanString(s.data, s.pos)
	if fault != 0 {
		s.pos = end
		s.fail("%s", fault)
		return 0, false
	}
	return end, escaped
}

// escapeLen returns the length of the escape sequence at the start of b, or 0 if it is
// not a valid one.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(b) < 6 {
			return 0
		}
		for _, h := range b[2:6] {
			if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
				return 0
			}
		}
		return 6
	}
	return 0
}

// Int reads an integer that fits in 64 bits.
func (s *Scanner) Int() int64 {
	raw := s.number()
	if s.err != nil {
		return 0
	}
	n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(raw), len(raw)), 10, 64)
	if err != nil {
		s.fail("not an integer: %s", raw)
	}
	return n
}

// number reads a number as JSON writes it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *Scanner) number() []byte {
	s.skipSpace()
	data, start := s.data, s.pos
	i := start
	digits := func() bool {
		j := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case !digits():
		s.fail("expected a number, found %s", s.found())
		return nil
	}
	if i < len(data) && data[i] == '.' {
		i++
		if !digits() {
			s.pos = i
			s.fail("a number needs digits after its point")
			return nil
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if !digits() {
			s.pos = i
			s.fail("a number needs digits in its exponent")
			return nil
		}
	}
	s.pos = i
	return data[start:i]
}

func (s *Scanner) literal(word string) {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		s.fail("expected %s", word)
		return
	}
	s.pos += len(word)
}

// Skip passes over the next value, whatever it is.
func (s *Scanner) Skip() {
	switch c := s.Peek(); c {
	case 0:
		if s.err == nil {
			s.fail("expected a value, found end of input")
		}
	case '"':
		s.pos++
		end := s.stringEnd()
		if s.err == nil {
			s.pos = end + 1
		}
	case '{', '[':
		s.skipContainer()
	case 't':
		s.literal("true")
	case 'f':
		s.literal("false")
	case 'n':
		s.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			s.number()
			return
		}
		s.fail("expected a value, found %s", s.found())
	}
}

// Raw passes over the next value and returns its bytes.
func (s *Scanner) Raw() []byte {
	s.skipSpace()
	start := s.pos
	s.Skip()
	if s.err != nil {
		return nil
	}
	return s.data[start:s.pos]
}

// End checks that nothing but white space follows the value just read.
func (s *Scanner) End() error {
	if s.err == nil && !s.AtEnd() {
		s.fail("unexpected data after the value: %s", s.found())
	}
	return s.err
}
