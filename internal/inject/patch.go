package inject

import (
	"bytes"
	"slices"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tandem-io/tandem/internal/config"
)

// patch writes the plan as an RFC 6902 JSON Patch against the raw pod. It is the one
// patch builder: appends use "/-", inserts use an index, and a whole list or map is added
// only where the pod has none (so parents are created, and nothing the pod has is
// replaced). Keys are escaped per RFC 6901. The patch is the caller's; the plan keeps
// only the buffer it was written in.
func (p *plan) writePatch() []byte {
	a := &p.adds
	status := rendered{name: StatusKey, json: p.statusValue()}
	var path [256]byte
	w := patchWriter{buf: slices.Grow(p.patch[:0], patchSize(a, status)), path: path[:0]}
	defer func() { p.patch = w.buf }()
	w.buf = append(w.buf, '[')
	p.patchMetadata(&w, status)
	spec := p.pod.Spec
	for i := range config.Fields {
		f := &config.Fields[i]
		if f.Placement != config.InPod {
			continue
		}
		if w.at("/spec").segment(f.Key); f.Front {
			w.insertFront(spec.count(i), a[i].items)
		} else {
			w.appendAll(spec.count(i), a[i].items)
		}
	}
	for c := range spec.Containers {
		for i := range config.Fields {
			if f := &config.Fields[i]; f.Placement == config.InEachContainer && len(a[i].each[c]) > 0 {
				w.at("/spec/containers").index(c).segment(f.Key).appendAll(len(spec.Containers[c].Names[i]), a[i].each[c])
			}
		}
	}
	w.buf = append(w.buf, ']')
	return bytes.Clone(w.buf)
}

// patchMetadata adds the metadata's maps, the status annotation last of the annotations.
func (p *plan) patchMetadata(w *patchWriter, status rendered) {
	if p.pod.Metadata == nil {
		w.at("/metadata").begin()
		sep := byte('{')
		for i := range config.Fields {
			if f := &config.Fields[i]; f.Placement == config.InMetadata {
				w.buf = append(appendString(append(w.buf, sep), f.Key), ':')
				w.buf = appendObject(w.buf, p.adds[i].items, statusOf(i, &status))
				sep = ','
			}
		}
		w.buf = append(w.buf, "}}"...)
		return
	}
	for i := range config.Fields {
		if f := &config.Fields[i]; f.Placement == config.InMetadata {
			w.at("/metadata").segment(f.Key).addKeys(len(p.pod.metadata(f)), p.adds[i].items, statusOf(i, &status))
		}
	}
}

// statusOf is the status annotation for the annotations (config.Fields[i]), to be added
// after the sidecars' own; nil for another map. Apart, so that no list is built for it.
func statusOf(i int, status *rendered) *rendered {
	if i == config.FieldAnnotations {
		return status
	}
	return nil
}

// patchSize estimates the length of the patch of a and the status annotation, so that its
// buffer is allocated once.
func patchSize(a *additions, status rendered) int {
	return a.size() + len(status.name) + len(status.json) + 64 + 512
}

// size estimates what the additions take in a patch.
func (a *additions) size() int {
	n := 0
	for i := range a {
		n += renderedSize(a[i].items, config.Fields[i].Placement == config.InMetadata)
		for _, list := range a[i].each {
			n += renderedSize(list, false)
		}
	}
	return n
}

// renderedSize estimates what items take in a patch: their JSON, their keys when they are
// a map's entries (the JSON is the value), and each its operation.
func renderedSize(items []rendered, keyed bool) int {
	n := 0
	for _, r := range items {
		n += len(r.json) + 64
		if keyed {
			n += len(r.name)
		}
	}
	return n
}

// patchWriter appends "add" operations to a JSON array being built. Paths are built in
// place (at, index, segment), so that writing a patch builds no strings.
type patchWriter struct {
	buf  []byte
	path []byte // the path of the list or map being patched
	ops  int
}

// at sets the path to p.
func (w *patchWriter) at(p string) *patchWriter {
	w.path = append(w.path[:0], p...)
	return w
}

// index appends "/i" to the path.
func (w *patchWriter) index(i int) *patchWriter {
	w.path = strconv.AppendInt(append(w.path, '/'), int64(i), 10)
	return w
}

// segment appends "/s" to the path; s must need no escaping.
func (w *patchWriter) segment(s string) *patchWriter {
	w.path = append(append(w.path, '/'), s...)
	return w
}

// key appends "/key" to the path, escaped per RFC 6901: "~" as "~0", "/" as "~1".
func (w *patchWriter) key(key string) *patchWriter {
	w.path = append(w.path, '/')
	for i := range len(key) {
		switch key[i] {
		case '~':
			w.path = append(w.path, "~0"...)
		case '/':
			w.path = append(w.path, "~1"...)
		default:
			w.path = append(w.path, key[i])
		}
	}
	return w
}

// begin starts an add operation at the path; the caller appends the value and the
// closing '}'.
func (w *patchWriter) begin() {
	if w.ops > 0 {
		w.buf = append(w.buf, ',')
	}
	w.ops++
	w.buf = append(w.buf, `{"op":"add","path":`...)
	w.buf, _ = jsontext.AppendQuote(w.buf, w.path) // keys may hold anything JSON must escape
	w.buf = append(w.buf, `,"value":`...)
}

// item adds one item to the list at the path: at index at, or at the end ("/-") when at
// is negative.
func (w *patchWriter) item(r rendered, at int) {
	n := len(w.path)
	if at < 0 {
		w.segment("-").begin()
	} else {
		w.index(at).begin()
	}
	w.path = w.path[:n]
	w.buf = r.appendTo(w.buf)
	w.buf = append(w.buf, '}')
}

// appendAll appends items to the list at the path, which holds existing items; a list
// that is absent, null or empty is added whole.
func (w *patchWriter) appendAll(existing int, items []rendered) {
	if existing == 0 {
		w.whole(items)
		return
	}
	for _, item := range items {
		w.item(item, -1)
	}
}

// insertFront puts items, in order, before the existing items of the list at the path.
func (w *patchWriter) insertFront(existing int, items []rendered) {
	if existing == 0 {
		w.whole(items)
		return
	}
	for i, item := range items {
		w.item(item, i)
	}
}

// whole adds the list at the path with items, unless there are none.
func (w *patchWriter) whole(items []rendered) {
	if len(items) == 0 {
		return
	}
	w.begin()
	w.buf = append(w.buf, '[')
	for i, item := range items {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = item.appendTo(w.buf)
	}
	w.buf = append(w.buf, "]}"...)
}

// addKeys adds entries to the map at the path, which holds existing entries: kvs, then
// last unless nil.
func (w *patchWriter) addKeys(existing int, kvs []rendered, last *rendered) {
	if len(kvs) == 0 && last == nil {
		return
	}
	if existing == 0 {
		w.begin()
		w.buf = appendObject(w.buf, kvs, last)
		w.buf = append(w.buf, '}')
		return
	}
	for _, kv := range kvs {
		w.addKey(kv)
	}
	if last != nil {
		w.addKey(*last)
	}
}

// addKey adds one entry to the map at the path.
func (w *patchWriter) addKey(kv rendered) {
	n := len(w.path)
	w.key(kv.name).begin()
	w.path = w.path[:n]
	w.buf = append(w.buf, kv.json...)
	w.buf = append(w.buf, '}')
}

// appendTo writes the part; a native sidecar gets restartPolicy Always as its first
// member (rendered containers are JSON objects with at least a name).
func (r rendered) appendTo(dst []byte) []byte {
	if r.native && len(r.json) > 1 && r.json[0] == '{' {
		dst = append(dst, `{"restartPolicy":"Always",`...)
		return append(dst, r.json[1:]...)
	}
	return append(dst, r.json...)
}

// appendObject writes kvs, then last unless nil, as a JSON object.
func appendObject(dst []byte, kvs []rendered, last *rendered) []byte {
	dst = append(dst, '{')
	for i, kv := range kvs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendEntry(dst, kv)
	}
	if last != nil {
		if len(kvs) > 0 {
			dst = append(dst, ',')
		}
		dst = appendEntry(dst, *last)
	}
	return append(dst, '}')
}

func appendEntry(dst []byte, kv rendered) []byte {
	dst = appendString(dst, kv.name)
	dst = append(dst, ':')
	return append(dst, kv.json...)
}

func appendString(dst []byte, s string) []byte {
	dst, _ = jsontext.AppendQuote(dst, s) // invalid UTF-8 is replaced, never dropped
	return dst
}
