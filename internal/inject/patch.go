package inject

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// patch writes the plan as an RFC 6902 JSON Patch against the raw pod. It is the one
// patch builder: appends use "/-", inserts use an index, and a whole list or map is added
// only where the pod has none (so parents are created, and nothing the pod has is
// replaced). Keys are escaped per RFC 6901. The patch is the caller's; the plan keeps
// only the buffer it was written in.
func (p *plan) writePatch() []byte {
	a := &p.adds
	w := patchWriter{buf: slices.Grow(p.patch[:0], a.size()+512)}
	defer func() { p.patch = w.buf }()
	w.buf = append(w.buf, '[')
	p.patchMetadata(&w)
	spec := p.pod.Spec
	w.insertFront("/spec/initContainers", len(spec.InitContainers), a.initContainers)
	w.appendAll("/spec/containers", len(spec.Containers), a.containers)
	w.appendAll("/spec/volumes", len(spec.Volumes), a.volumes)
	secrets := make([]rendered, len(a.pullSecrets))
	for i, s := range a.pullSecrets {
		secrets[i].json = append(appendString([]byte(`{"name":`), s), '}')
	}
	w.appendAll("/spec/imagePullSecrets", len(spec.ImagePullSecrets), secrets)
	for i, c := range spec.Containers {
		if len(a.env[i]) == 0 && len(a.mounts[i]) == 0 {
			continue
		}
		base := "/spec/containers/" + strconv.Itoa(i)
		w.appendAll(base+"/env", len(c.Env), a.env[i])
		w.appendAll(base+"/volumeMounts", len(c.VolumeMounts), a.mounts[i])
	}
	w.buf = append(w.buf, ']')
	return bytes.Clone(w.buf)
}

// patchMetadata adds labels and annotations, the status annotation last.
func (p *plan) patchMetadata(w *patchWriter) {
	annotations := append(p.adds.annotations, keyValue{StatusKey, p.statusValue()})
	if p.pod.Metadata == nil {
		w.begin("/metadata")
		w.buf = append(w.buf, `{"labels":`...)
		w.buf = appendObject(w.buf, p.adds.labels)
		w.buf = append(w.buf, `,"annotations":`...)
		w.buf = appendObject(w.buf, annotations)
		w.buf = append(w.buf, "}}"...)
		return
	}
	w.addKeys("/metadata/labels", len(p.pod.Metadata.Labels), p.adds.labels)
	w.addKeys("/metadata/annotations", len(p.pod.Metadata.Annotations), annotations)
}

// size estimates the patch's length, so its buffer is allocated once.
func (a *additions) size() int {
	n := 0
	for _, list := range [][]rendered{a.initContainers, a.containers, a.volumes} {
		for _, r := range list {
			n += len(r.json) + 64
		}
	}
	for i := range a.env {
		for _, r := range a.env[i] {
			n += len(r.json) + 64
		}
		for _, r := range a.mounts[i] {
			n += len(r.json) + 64
		}
	}
	for _, kv := range a.labels {
		n += len(kv.key) + len(kv.value) + 64
	}
	for _, kv := range a.annotations {
		n += len(kv.key) + len(kv.value) + 64
	}
	return n
}

// patchWriter appends "add" operations to a JSON array being built.
type patchWriter struct {
	buf []byte
	ops int
}

// begin starts an add operation at path; the caller appends the value and the closing '}'.
func (w *patchWriter) begin(path string) {
	if w.ops > 0 {
		w.buf = append(w.buf, ',')
	}
	w.ops++
	w.buf = append(w.buf, `{"op":"add","path":`...)
	w.buf = appendString(w.buf, path)
	w.buf = append(w.buf, `,"value":`...)
}

func (w *patchWriter) item(path string, r rendered) {
	w.begin(path)
	w.buf = r.appendTo(w.buf)
	w.buf = append(w.buf, '}')
}

// appendAll appends items to the list at path, which holds existing items; a list that
// is absent, null or empty is added whole.
func (w *patchWriter) appendAll(path string, existing int, items []rendered) {
	w.addItems(path, existing, items, func(int) string { return path + "/-" })
}

// insertFront puts items, in order, before the existing items of the list at path.
func (w *patchWriter) insertFront(path string, existing int, items []rendered) {
	w.addItems(path, existing, items, func(i int) string { return path + "/" + strconv.Itoa(i) })
}

// addItems adds items one by one at the paths at gives, or the whole list where the pod
// has none.
func (w *patchWriter) addItems(path string, existing int, items []rendered, at func(i int) string) {
	if len(items) == 0 {
		return
	}
	if existing == 0 {
		w.whole(path, items)
		return
	}
	for i, item := range items {
		w.item(at(i), item)
	}
}

func (w *patchWriter) whole(path string, items []rendered) {
	w.begin(path)
	w.buf = append(w.buf, '[')
	for i, item := range items {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = item.appendTo(w.buf)
	}
	w.buf = append(w.buf, "]}"...)
}

// addKeys adds entries to the map at path, which holds existing entries.
func (w *patchWriter) addKeys(path string, existing int, kvs []keyValue) {
	if len(kvs) == 0 {
		return
	}
	if existing == 0 {
		w.begin(path)
		w.buf = appendObject(w.buf, kvs)
		w.buf = append(w.buf, '}')
		return
	}
	for _, kv := range kvs {
		w.begin(path + "/" + escapePointer(kv.key))
		w.buf = append(w.buf, kv.value...)
		w.buf = append(w.buf, '}')
	}
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

func appendObject(dst []byte, kvs []keyValue) []byte {
	dst = append(dst, '{')
	for i, kv := range kvs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, kv.key)
		dst = append(dst, ':')
		dst = append(dst, kv.value...)
	}
	return append(dst, '}')
}

func appendString(dst []byte, s string) []byte {
	dst, _ = jsontext.AppendQuote(dst, s) // invalid UTF-8 is replaced, never dropped
	return dst
}

// pointerEscaper escapes a key for a JSON Pointer (RFC 6901): "~" first, then "/".
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escapePointer(key string) string { return pointerEscaper.Replace(key) }
