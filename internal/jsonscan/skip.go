package jsonscan

// The code in this file is the webhook's hottest loop: most bytes of an admission request
// (managedFields above all) are skipped, not read. It is one function with a state per
// label rather than a Peek/Skip call per token: with the string loop below, skipping got
// about twice as fast (BenchmarkSkip).

// skipContainer passes over the object or array at pos and checks its grammar: member
// names, colons, commas, brackets matched by kind, and every scalar. It keeps a bit per
// level (object or array) instead of a stack, so deep documents cost no allocation.
func (s *Scanner) skipContainer() {
	s.skipSpace()
	var (
		data     = s.data
		i        = s.pos
		objects  [maxDepth / 64]uint64
		depth    int
		c        byte
		inObject bool // whether the innermost container is an object
		fault    stringFault
		msg      string
	)

open: // data[i] is '{' or '['
	if depth == maxDepth {
		s.pos = i
		s.fail("nested more than %d levels deep", maxDepth)
		return
	}
	inObject = data[i] == '{'
	if inObject {
		objects[depth/64] |= 1 << (depth % 64)
	} else {
		objects[depth/64] &^= 1 << (depth % 64)
	}
	depth++
	i = spaceEnd(data, i+1)
	if i < len(data) && (data[i] == '}' && inObject || data[i] == ']' && !inObject) {
		goto closed
	}
	if inObject {
		goto member
	}
	goto value

member: // a member name, then a colon, then its value
	i = spaceEnd(data, i)
	if i >= len(data) || data[i] != '"' {
		msg = "expected a member name"
		goto failed
	}
	i, _, fault = scanString(data, i+1)
	if fault != 0 {
		msg = fault.String()
		goto failed
	}
	i = spaceEnd(data, i+1)
	if i >= len(data) || data[i] != ':' {
		msg = "expected ':'"
		goto failed
	}
	i++

value:
	i = spaceEnd(data, i)
	if i >= len(data) {
		msg = "expected a value"
		goto failed
	}
	switch c = data[i]; c {
	case '{', '[':
		// An empty object is most of managedFields ("f:name":{}): step over it whole.
		if c == '{' && i+1 < len(data) && data[i+1] == '}' {
			i += 2
			goto next
		}
		goto open
	case '"':
		i, _, fault = scanString(data, i+1)
		if fault != 0 {
			msg = fault.String()
			goto failed
		}
		i++
	default:
		s.pos = i
		s.Skip() // a literal or a number
		if s.err != nil {
			return
		}
		i = s.pos
	}

next: // after a value: a comma, or closing brackets
	i = spaceEnd(data, i)
	if i >= len(data) {
		msg = "expected ',' or a closing bracket"
		goto failed
	}
	switch c = data[i]; {
	case c == ',':
		i++
		if inObject {
			goto member
		}
		goto value
	case c == '}' && inObject, c == ']' && !inObject:
		goto closed
	}
	msg = "expected ',' or a closing bracket"
	goto failed

closed: // data[i] closes the innermost container
	i++
	depth--
	if depth > 0 {
		inObject = objects[(depth-1)/64]&(1<<((depth-1)%64)) != 0
		goto next
	}
	s.pos = i
	return

failed:
	s.pos = i
	s.fail("%s, found %s", msg, s.found())
}

// spaceEnd returns the index of the first byte at or after i that is not white space.
func spaceEnd(data []byte, i int) int {
	for i < len(data) && data[i] <= ' ' && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t') {
		i++
	}
	return i
}

// stringFault says what is wrong with a string; 0 means nothing.
type stringFault uint8

const (
	badEscape stringFault = iota + 1
	controlCharacter
	unterminated
)

func (f stringFault) String() string {
	switch f {
	case badEscape:
		return "invalid escape in a string"
	case controlCharacter:
		return "control character in a string"
	case unterminated:
		return "unterminated string"
	}
	return ""
}

// scanString returns the index of the quote that closes the string whose contents start
// at i, and checks the string on the way: no control characters, only valid escapes. On a
// fault, end is where it was found. A table lookup per byte, four at a time: most strings
// in a pod are short names and keys, for which this beats both IndexByte's setup and
// eight-bytes-at-a-time tricks (their longer chain of operations stalls at every string's
// end).
func scanString(data []byte, i int) (end int, escaped bool, fault stringFault) {
	for {
		for i+4 <= len(data) && plainStringByte[data[i]] && plainStringByte[data[i+1]] && plainStringByte[data[i+2]] && plainStringByte[data[i+3]] {
			i += 4
		}
		for i < len(data) && plainStringByte[data[i]] {
			i++
		}
		if i >= len(data) {
			return len(data), false, unterminated
		}
		switch c := data[i]; {
		case c == '"':
			return i, escaped, 0
		case c == '\\':
			n := escapeLen(data[i:])
			if n == 0 {
				return i, false, badEscape
			}
			i += n
			escaped = true
		default:
			return i, false, controlCharacter
		}
	}
}

// plainStringByte marks the bytes a string may hold as they are: all but the quote, the
// backslash and control characters.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// StringMember reads the object at the scanner's position, skipping (and checking) every
// member, and returns the value of the member named key when it is a string. first is the
// first byte of that member's value ('"', 'n', '{'...), or 0 when the object has none, so
// that the caller can name a wrong type. If key occurs more than once the last one counts,
// as with encoding/json. It is the loop behind lists of named things, a thousand env vars
// of a container, and costs a fraction of NextKey and Skip per member.
func (s *Scanner) StringMember(key string) (value string, first byte) {
	if !s.expect('{') {
		return "", 0
	}
	data := s.data
	i := spaceEnd(data, s.pos)
	if i < len(data) && data[i] == '}' {
		s.pos = i + 1
		return "", 0
	}
	for {
		if i >= len(data) || data[i] != '"' {
			s.pos = i
			s.fail("expected a member name, found %s", s.found())
			return "", 0
		}
		end, escaped, fault := scanString(data, i+1)
		if fault != 0 {
			s.pos = end
			s.fail("%s", fault)
			return "", 0
		}
		match := !escaped && string(data[i+1:end]) == key
		if escaped { // rare: compare the decoded name
			s.pos = i
			match = string(s.stringBytes()) == key
			end = s.pos - 1
		}
		i = spaceEnd(data, end+1)
		if i >= len(data) || data[i] != ':' {
			s.pos = i
			s.fail("expected ':', found %s", s.found())
			return "", 0
		}
		i = spaceEnd(data, i+1)
		s.pos = i
		if match && i < len(data) {
			first = data[i]
			if first == '"' {
				value = s.String()
			} else {
				value = ""
				s.Skip()
			}
		} else {
			s.Skip()
		}
		if s.err != nil {
			return "", 0
		}
		i = spaceEnd(data, s.pos)
		if i < len(data) && data[i] == ',' {
			i = spaceEnd(data, i+1)
			continue
		}
		if i < len(data) && data[i] == '}' {
			s.pos = i + 1
			return value, first
		}
		s.pos = i
		s.fail("expected ',' or '}', found %s", s.found())
		return "", 0
	}
}
