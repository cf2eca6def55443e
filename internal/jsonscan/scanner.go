package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
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

// IsObject reports whether the next value is an object.
func (s *Scanner) IsObject() bool { return s.Peek() == '{' }

// IsArray reports whether the next value is an array.
func (s *Scanner) IsArray() bool { return s.Peek() == '[' }

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
	if c == closing {
		s.pos++
		return false
	}
	if !s.opened() && !s.expect(',') {
		return false
	}
	switch s.Peek() {
	case closing:
		s.fail("trailing comma")
	case 0:
		s.fail("unexpected end of input")
	}
	return s.err == nil
}

// String reads a string value; it aliases the input unless it holds escapes.
func (s *Scanner) String() string {
	b := s.stringBytes()
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// StringOrNull reads a string, or a null as "".
func (s *Scanner) StringOrNull() string {
	if s.Null() {
		return ""
	}
	return s.String()
}

func (s *Scanner) stringBytes() []byte {
	if !s.expect('"') {
		return nil
	}
	start := s.pos
	end := s.stringEnd()
	if s.err != nil {
		return nil
	}
	raw := s.data[start:end]
	s.pos = end + 1
	if plain(raw) {
		return raw
	}
	// Rare: let encoding/json apply every rule of escapes and UTF-8.
	var out string
	if err := json.Unmarshal(s.data[start-1:end+1], &out); err != nil {
		s.pos = start
		s.fail("bad string: %v", err)
		return nil
	}
	return []byte(out)
}

// plain reports whether a string's raw bytes are its value: no escapes, no control
// characters, and ASCII or valid UTF-8.
func plain(raw []byte) bool {
	for _, c := range raw {
		if c < 0x20 || c == '\\' {
			return false
		}
		if c >= 0x80 {
			return false // let the slow path check the UTF-8
		}
	}
	return true
}

// stringEnd returns the index of the quote that closes the string starting at pos.
// Most strings in a pod are short keys and names, which a plain loop finishes before
// IndexByte would have set up; past 16 bytes IndexByte takes over, since values such as
// certificates or scripts can be long.
func (s *Scanner) stringEnd() int {
	data := s.data
	start := s.pos
	for i := start; i < len(data); {
		switch data[i] {
		case '"':
			return i
		case '\\':
			i += 2 // the escaped byte cannot close the string
			continue
		}
		i++
		if i-start < 16 {
			continue
		}
		j := bytes.IndexByte(data[i:], '"')
		if j < 0 {
			break
		}
		k := bytes.IndexByte(data[i:i+j], '\\')
		if k < 0 {
			return i + j
		}
		i += k // resume at the backslash
	}
	s.pos = len(data)
	s.fail("unterminated string")
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

func (s *Scanner) number() []byte {
	s.skipSpace()
	start := s.pos
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			s.pos++
			continue
		}
		break
	}
	if s.pos == start {
		s.fail("expected a number, found %s", s.found())
	}
	return s.data[start:s.pos]
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

// structural marks the bytes skipContainer stops at.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// skipContainer passes over an object or array, matching brackets by kind. The kinds of
// the open brackets are bits of a small array: cheaper to clear than a byte per level.
func (s *Scanner) skipContainer() {
	var objects [maxDepth / 64]uint64 // bit set: that level is an object
	data := s.data
	depth := 0
	i := s.pos
	for i < len(data) {
		for i < len(data) && !structural[data[i]] {
			i++
		}
		if i >= len(data) {
			break
		}
		switch c := data[i]; c {
		case '"':
			s.pos = i + 1
			end := s.stringEnd()
			if s.err != nil {
				return
			}
			i = end + 1
			continue
		case '{', '[':
			if depth == maxDepth {
				s.pos = i
				s.fail("nested more than %d levels deep", maxDepth)
				return
			}
			word, bit := depth/64, uint64(1)<<(depth%64)
			if c == '{' {
				objects[word] |= bit
			} else {
				objects[word] &^= bit
			}
			depth++
		case '}', ']':
			if depth == 0 {
				s.pos = i
				s.fail("unexpected %q", c)
				return
			}
			depth--
			isObject := objects[depth/64]&(uint64(1)<<(depth%64)) != 0
			if isObject != (c == '}') {
				s.pos = i
				s.fail("unexpected %q", c)
				return
			}
			if depth == 0 {
				s.pos = i + 1
				return
			}
		}
		i++
	}
	s.pos = len(data)
	s.fail("unexpected end of input inside an object or array")
}

// End checks that nothing but white space follows the value just read.
func (s *Scanner) End() error {
	if s.err == nil && s.Peek() != 0 {
		s.fail("unexpected data after the value: %s", s.found())
	}
	return s.err
}

// ErrNotObject is returned by helpers when a document is not a JSON object.
var ErrNotObject = errors.New("not a JSON object")
