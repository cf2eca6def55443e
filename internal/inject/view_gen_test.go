package inject

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"unicode/utf8"
)

// The pods of TestViewMatchesCorev1 are built as ordered JSON values and written by a
// writer that varies everything JSON lets vary, since the view reads the text, not a
// tree: a marshalled map would always come out in one order, unescaped, without space.

type jsonObject []jsonMember

type jsonMember struct {
	key string
	val any // nil, bool, int64, jsonText, string, jsonObject or []any
}

// jsonText is written as it is: numbers in forms encoding/json never writes, and strings
// with escapes a Go string cannot carry (lone surrogates).
type jsonText string

type podWriter struct {
	rng *rand.Rand
	buf []byte
}

func (w *podWriter) chance(n int) bool { return w.rng.IntN(n) == 0 }

func (w *podWriter) space() {
	for w.chance(6) {
		w.buf = append(w.buf, " \t\n\r"[w.rng.IntN(4)])
	}
}

func (w *podWriter) value(v any) {
	w.space()
	switch v := v.(type) {
	case nil:
		w.buf = append(w.buf, "null"...)
	case bool:
		w.buf = strconv.AppendBool(w.buf, v)
	case int64:
		w.buf = strconv.AppendInt(w.buf, v, 10)
	case jsonText:
		w.buf = append(w.buf, v...)
	case string:
		w.str(v)
	case jsonObject:
		w.buf = append(w.buf, '{')
		for i, m := range v {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.space()
			w.str(m.key)
			w.space()
			w.buf = append(w.buf, ':')
			w.value(m.val)
		}
		w.space()
		w.buf = append(w.buf, '}')
	case []any:
		w.buf = append(w.buf, '[')
		for i, e := range v {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.value(e)
		}
		w.space()
		w.buf = append(w.buf, ']')
	default:
		panic(fmt.Sprintf("cannot write a %T", v))
	}
	w.space()
}

// str writes s quoted, escaping at random what may be written plain, and writing bytes
// that are not valid UTF-8 as they are.
func (w *podWriter) str(s string) {
	w.buf = append(w.buf, '"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			w.buf = append(w.buf, s[i])
		case r == '"' || r == '\\' || r < 0x20 || w.chance(8):
			w.escape(r)
		default:
			w.buf = append(w.buf, s[i:i+size]...)
		}
		i += size
	}
	w.buf = append(w.buf, '"')
}

func (w *podWriter) escape(r rune) {
	short := map[rune]string{'"': `\"`, '\\': `\\`, '/': `\/`, '\b': `\b`, '\f': `\f`, '\n': `\n`, '\r': `\r`, '\t': `\t`}
	if e, ok := short[r]; ok && w.chance(2) {
		w.buf = append(w.buf, e...)
		return
	}
	if r > 0xffff {
		r -= 0x10000
		w.u(0xd800 + r>>10)
		w.u(0xdc00 + r&0x3ff)
		return
	}
	w.u(r)
}

func (w *podWriter) u(r rune) {
	const hex = "0123456789abcdef"
	digits := hex
	if w.chance(2) {
		digits = "0123456789ABCDEF"
	}
	w.buf = append(w.buf, '\\', 'u', digits[r>>12&15], digits[r>>8&15], digits[r>>4&15], digits[r&15])
}

// podGen draws the parts of a pod. Every known member has a value of the type
// corev1.Pod expects, but for rare deliberate cases, so that most pods reach the
// comparison.
type podGen struct{ rng *rand.Rand }

func (g podGen) chance(n int) bool { return g.rng.IntN(n) == 0 }

var stringPieces = []string{
	"a", "b", "z", "app", "proxy", "0", "9", "-", ".", "/", "_", "~", "~1", " ",
	"é", "日本", "😀", "\u2028", "\ufffd", "\"", "\\", "\x00", "\n", "\x1f", "\x7f",
	"tandem.io/inject", "example.com/",
}

var invalidUTF8 = []string{"\xff", "\xc3", "\xed\xa0\x80", "\xf0\x9f\x98", "\x80\x80"}

// jsonStrings are strings written as escapes no Go string holds: lone surrogates, which
// both decoders read as U+FFFD.
var jsonStrings = []jsonText{`"\ud800"`, `"a\udc00b"`, `"\ud83d\ude00\ud83d"`, `"\u0000"`}

func (g podGen) str() any {
	switch {
	case g.chance(40):
		return jsonStrings[g.rng.IntN(len(jsonStrings))]
	case g.chance(30):
		return ""
	}
	var s string
	for range 1 + g.rng.IntN(6) {
		if g.chance(25) {
			s += invalidUTF8[g.rng.IntN(len(invalidUTF8))]
		} else {
			s += stringPieces[g.rng.IntN(len(stringPieces))]
		}
	}
	return s
}

// key is str for member names, which must be Go strings.
func (g podGen) key() string {
	if s, ok := g.str().(string); ok {
		return s
	}
	return "\ud7ff"
}

// optStr is a string, null, or nothing (ok false: the member is left out).
func (g podGen) optStr() (any, bool) {
	switch g.rng.IntN(8) {
	case 0:
		return nil, false
	case 1:
		return nil, true
	}
	return g.str(), true
}

// object assembles members, leaving out absent ones, adding unknown members (some of them
// known names in another case, unknown to a case-sensitive decoder), shuffling, and now
// and then repeating a name.
func (g podGen) object(members ...jsonMember) jsonObject {
	var obj jsonObject
	for _, m := range members {
		if _, skip := m.val.(absentMember); !skip {
			obj = append(obj, m)
		}
	}
	for range g.rng.IntN(3) {
		if g.chance(4) && len(obj) > 0 {
			k := []rune(obj[g.rng.IntN(len(obj))].key)
			if len(k) > 0 && k[0] >= 'a' && k[0] <= 'z' {
				k[0] -= 'a' - 'A'
			}
			obj = append(obj, jsonMember{string(k), g.unknown(3)})
		} else {
			obj = append(obj, jsonMember{"x-" + g.key(), g.unknown(4)})
		}
	}
	g.rng.Shuffle(len(obj), func(i, j int) { obj[i], obj[j] = obj[j], obj[i] })
	if g.chance(300) && len(obj) > 0 {
		m := obj[g.rng.IntN(len(obj))]
		obj = append(obj, jsonMember{m.key, m.val})
		g.rng.Shuffle(len(obj), func(i, j int) { obj[i], obj[j] = obj[j], obj[i] })
	}
	return obj
}

// absentMember marks a member to leave out.
type absentMember struct{}

func (g podGen) opt(key string, val any, ok bool) jsonMember {
	if !ok {
		return jsonMember{key, absentMember{}}
	}
	return jsonMember{key, val}
}

// unknown is any JSON value up to depth levels deep, now and then a chain hundreds of
// levels deep (within jsonscan's bound, or past it).
func (g podGen) unknown(depth int) any {
	if g.chance(400) {
		n := 100 + g.rng.IntN(400)
		if g.chance(4) {
			n = 520 + g.rng.IntN(50)
		}
		var v any = jsonObject{}
		for range n {
			if g.chance(2) {
				v = []any{v}
			} else {
				v = jsonObject{{"d", v}}
			}
		}
		return v
	}
	kinds := 7
	if depth <= 0 {
		kinds = 5
	}
	switch g.rng.IntN(kinds) {
	case 0:
		return nil
	case 1:
		return g.chance(2)
	case 2:
		return []jsonText{"0", "-0", "1.5", "-2e-3", "1E+400", "123456789012345678901234567890", "0.0"}[g.rng.IntN(7)]
	case 3:
		return g.rng.Int64N(1<<40) - 1<<39
	case 4:
		return g.str()
	case 5:
		var list []any
		for range g.rng.IntN(4) {
			list = append(list, g.unknown(depth-1))
		}
		return list
	default:
		obj := jsonObject{}
		for range g.rng.IntN(4) {
			obj = append(obj, jsonMember{g.key(), g.unknown(depth - 1)})
		}
		return obj
	}
}

// list is a list of up to n elements, null, empty, or absent (ok false); an element is
// null now and then.
func (g podGen) list(n int, element func() any) (any, bool) {
	switch g.rng.IntN(10) {
	case 0, 1, 2:
		return nil, false
	case 3:
		return nil, true
	case 4:
		return []any{}, true
	}
	var out []any
	for range 1 + g.rng.IntN(n) {
		if g.chance(60) {
			out = append(out, nil)
		} else {
			out = append(out, element())
		}
	}
	return out, true
}

func (g podGen) stringMap() (any, bool) {
	switch g.rng.IntN(8) {
	case 0, 1:
		return nil, false
	case 2:
		return nil, true
	case 3:
		return jsonObject{}, true
	}
	obj := jsonObject{}
	seen := map[string]bool{} // as decoded: bytes that are not UTF-8 all read as U+FFFD
	for range 1 + g.rng.IntN(5) {
		k := g.key()
		if seen[replaced(k)] {
			continue
		}
		seen[replaced(k)] = true
		v := g.str()
		if g.chance(20) {
			v = nil
		}
		obj = append(obj, jsonMember{k, v})
	}
	if g.chance(60) {
		m := obj[g.rng.IntN(len(obj))]
		obj = append(obj, jsonMember{m.key, g.str()})
	}
	return obj, true
}

func (g podGen) metadata() any {
	name, hasName := g.optStr()
	gen, hasGen := g.optStr()
	ns, hasNS := g.optStr()
	labels, hasLabels := g.stringMap()
	annotations, hasAnnotations := g.stringMap()
	managed, hasManaged := g.list(3, func() any {
		return g.object(
			jsonMember{"manager", "kube-controller-manager"},
			jsonMember{"operation", "Update"},
			jsonMember{"fieldsType", "FieldsV1"},
			jsonMember{"fieldsV1", g.unknown(6)}, // any JSON: metav1.FieldsV1 keeps it raw
		)
	})
	return g.object(
		g.opt("name", name, hasName),
		g.opt("generateName", gen, hasGen),
		g.opt("namespace", ns, hasNS),
		g.opt("labels", labels, hasLabels),
		g.opt("annotations", annotations, hasAnnotations),
		g.opt("uid", "6f1e4a3c-0000-4000-8000-000000000000", g.chance(2)),
		g.opt("creationTimestamp", nil, g.chance(2)),
		g.opt("managedFields", managed, hasManaged),
	)
}

func (g podGen) port() any {
	var number any = int64(g.rng.IntN(65536))
	switch g.rng.IntN(12) {
	case 0:
		number = int64(-1 << 31)
	case 1:
		number = int64(1<<31 - 1)
	case 2:
		number = jsonText("-0")
	case 3:
		number = int64(-g.rng.IntN(100))
	}
	protocol, hasProtocol := g.optStr()
	if g.chance(2) {
		protocol = []string{"TCP", "UDP", "SCTP"}[g.rng.IntN(3)]
	}
	name, hasName := g.optStr()
	return g.object(
		g.opt("containerPort", number, !g.chance(10)),
		g.opt("containerPort", nil, g.chance(300)), // an allowed rejection, unless repeated
		g.opt("protocol", protocol, hasProtocol),
		g.opt("name", name, hasName),
		g.opt("hostPort", int64(g.rng.IntN(65536)), g.chance(4)),
	)
}

func (g podGen) container() any {
	name, hasName := g.optStr()
	ports, hasPorts := g.list(4, g.port)
	env, hasEnv := g.list(6, func() any {
		name, hasName := g.optStr()
		value, hasValue := g.optStr()
		return g.object(
			g.opt("name", name, hasName),
			g.opt("value", value, hasValue),
			g.opt("valueFrom", jsonObject{{"fieldRef", jsonObject{{"fieldPath", "metadata.name"}}}}, g.chance(5)),
		)
	})
	mounts, hasMounts := g.list(4, func() any {
		name, hasName := g.optStr()
		path, hasPath := g.optStr()
		return g.object(
			g.opt("name", name, hasName),
			g.opt("mountPath", path, hasPath),
			g.opt("readOnly", g.chance(2), g.chance(3)),
		)
	})
	return g.object(
		g.opt("name", name, hasName),
		g.opt("image", "example.com/app:1", g.chance(2)),
		g.opt("args", []any{"--flag", g.str()}, g.chance(3)),
		g.opt("ports", ports, hasPorts),
		g.opt("env", env, hasEnv),
		g.opt("volumeMounts", mounts, hasMounts),
		// Written plain: resource.Quantity does not decode escapes, here or in the API server.
		g.opt("resources", jsonObject{{"requests", jsonObject{{"cpu", jsonText(`"100m"`)}, {"memory", jsonText(`"64Mi"`)}}}}, g.chance(3)),
	)
}

func (g podGen) named(extra ...jsonMember) func() any {
	return func() any {
		name, hasName := g.optStr()
		return g.object(append([]jsonMember{g.opt("name", name, hasName)}, extra...)...)
	}
}

func (g podGen) spec() any {
	containers, hasContainers := g.list(4, g.container)
	inits, hasInits := g.list(2, g.container)
	volumes, hasVolumes := g.list(4, g.named(jsonMember{"emptyDir", jsonObject{}}))
	secrets, hasSecrets := g.list(2, g.named())
	ephemeral, hasEphemeral := g.list(2, g.named()) // read by neither
	nodeSelector, hasNodeSelector := g.stringMap()
	return g.object(
		g.opt("containers", containers, hasContainers),
		g.opt("initContainers", inits, hasInits),
		g.opt("volumes", volumes, hasVolumes),
		g.opt("imagePullSecrets", secrets, hasSecrets),
		g.opt("ephemeralContainers", ephemeral, hasEphemeral),
		g.opt("hostNetwork", []any{true, false, nil}[g.rng.IntN(3)], g.chance(2)),
		g.opt("nodeSelector", nodeSelector, hasNodeSelector),
		g.opt("serviceAccountName", g.str(), g.chance(3)),
	)
}

// randomPodJSON writes one pod: metadata and spec null, empty or full; nulls, empty lists
// and absent members throughout.
func randomPodJSON(rng *rand.Rand) []byte {
	g := podGen{rng}
	part := func(make func() any) (any, bool) {
		switch rng.IntN(12) {
		case 0:
			return nil, false
		case 1:
			return nil, true
		case 2:
			return jsonObject{}, true
		}
		return make(), true
	}
	meta, hasMeta := part(g.metadata)
	spec, hasSpec := part(g.spec)
	pod := g.object(
		g.opt("apiVersion", "v1", g.chance(2)),
		g.opt("kind", "Pod", g.chance(2)),
		g.opt("metadata", meta, hasMeta),
		g.opt("spec", spec, hasSpec),
		g.opt("status", jsonObject{{"phase", "Pending"}}, g.chance(4)),
	)
	w := podWriter{rng: rng}
	w.value(pod)
	return w.buf
}
