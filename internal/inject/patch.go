package inject

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// patch writes the plan as an RFC 6902 JSON Patch against the raw pod. It is the one
// patch builder: appends use "/-", inserts use an index, and a whole list or map is added
// only where the pod has none (so parents are created, and nothing the pod has is
// replaced). Keys are escaped per RFC 6901.
func (p *plan) patch() []byte {
	w := patchWriter{buf: make([]byte, 0, 1024)}
	w.buf = append(w.buf, '[')
	p.patchMetadata(&w)
	spec := p.pod.Spec
	a := &p.adds
	w.insertFront("/spec/initContainers", len(spec.InitContainers), a.initContainers)
	w.appendAll("/spec/containers", len(spec.Containers), a.containers)
	w.appendAll("/spec/volumes", len(spec.Volumes), a.volumes)
	secrets := make([][]byte, len(a.pullSecrets))
	for i, s := range a.pullSecrets {
		secrets[i] = append(appendString([]byte(`{"name":`), s), '}')
	}
	w.appendAll("/spec/imagePullSecrets", len(spec.ImagePullSecrets), secrets)
	for i, c := range spec.Containers {
		base := "/spec/containers/" + strconv.Itoa(i)
		if len(a.env) > i {
			w.appendAll(base+"/env", len(c.Env), a.env[i])
		}
		if len(a.mounts) > i {
			w.appendAll(base+"/volumeMounts", len(c.VolumeMounts), a.mounts[i])
		}
	}
	w.buf = append(w.buf, ']')
	return w.buf
}

// patchMetadata adds labels and annotations, the status annotation last.
func (p *plan) patchMetadata(w *patchWriter) {
	statusJSON, _ := json.Marshal(p.status)
	quoted := appendString(nil, string(statusJSON))
	annotations := append(p.adds.annotations[:len(p.adds.annotations):len(p.adds.annotations)], keyValue{StatusKey, quoted})
	if p.pod.Metadata == nil {
		obj := []byte(`{"labels":`)
		obj = appendObject(obj, p.adds.labels)
		obj = append(obj, `,"annotations":`...)
		obj = appendObject(obj, annotations)
		w.op("/metadata", append(obj, '}'))
		return
	}
	w.addKeys("/metadata/labels", len(p.pod.Metadata.Labels), p.adds.labels)
	w.addKeys("/metadata/annotations", len(p.pod.Metadata.Annotations), annotations)
}

// patchWriter appends "add" operations to a JSON array being built.
type patchWriter struct {
	buf []byte
	ops int
}

func (w *patchWriter) op(path string, value []byte) {
	if w.ops > 0 {
		w.buf = append(w.buf, ',')
	}
	w.ops++
	w.buf = append(w.buf, `{"op":"add","path":`...)
	w.buf = appendString(w.buf, path)
	w.buf = append(w.buf, `,"value":`...)
	w.buf = append(w.buf, value...)
	w.buf = append(w.buf, '}')
}

// appendAll appends items to the list at path, which holds existing items; a list that
// is absent, null or empty is added whole.
func (w *patchWriter) appendAll(path string, existing int, items [][]byte) {
	if len(items) == 0 {
		return
	}
	if existing == 0 {
		w.op(path, appendArray(nil, items))
		return
	}
	for _, item := range items {
		w.op(path+"/-", item)
	}
}

// insertFront puts items, in order, before the existing items of the list at path.
func (w *patchWriter) insertFront(path string, existing int, items [][]byte) {
	if len(items) == 0 {
		return
	}
	if existing == 0 {
		w.op(path, appendArray(nil, items))
		return
	}
	for i, item := range items {
		w.op(path+"/"+strconv.Itoa(i), item)
	}
}

// addKeys adds entries to the map at path, which holds existing entries.
func (w *patchWriter) addKeys(path string, existing int, kvs []keyValue) {
	if len(kvs) == 0 {
		return
	}
	if existing == 0 {
		w.op(path, appendObject(nil, kvs))
		return
	}
	for _, kv := range kvs {
		w.op(path+"/"+escapePointer(kv.key), kv.value)
	}
}

func appendArray(dst []byte, items [][]byte) []byte {
	dst = append(dst, '[')
	for i, item := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, item...)
	}
	return append(dst, ']')
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
