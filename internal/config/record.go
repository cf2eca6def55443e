package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/tandem-io/tandem/internal/tmpl"
)

// The kinds of part a record names: a key is "<kind>/<name>". A container of the
// sidecar's containers list is recorded in three parts, so that a change can be told to be
// one a running pod accepts (its image, its resources) or not (anything else of it).
const (
	RecordContainer       = "container" // a container, without its image and resources
	RecordImage           = "image"     // a container's image
	RecordResources       = "resources" // a container's resources
	RecordInitContainer   = "initContainer"
	RecordVolume          = "volume"
	RecordEnv             = "env"
	RecordVolumeMount     = "volumeMount" // name: the mount path
	RecordLabel           = "label"
	RecordAnnotation      = "annotation"
	RecordImagePullSecret = "imagePullSecret"
)

// RecordPart is one thing a sidecar puts into a pod, and the hash of its definition: the
// part as written (templates unrendered) and the configured values of the knobs its
// templates read. A pod that overrides such a knob renders the same whatever the
// configured value; rollout tells those apart by rendering.
type RecordPart struct {
	Key  string
	Hash string
}

// RecordKey is the key of a part: kind and name.
func RecordKey(kind, name string) string { return kind + "/" + name }

// SplitRecordKey is RecordKey's inverse.
func SplitRecordKey(key string) (kind, name string) {
	kind, name, _ = strings.Cut(key, "/")
	return kind, name
}

// record lists the parts sc puts into a pod, sorted by key, and hashes them together:
// the hash that says a sidecar's pods are current. Description, failurePolicy, namespaces,
// hostNetwork, native and the override patterns decide whether and where a sidecar is
// injected, not what it is, and are left out.
func (sc *Sidecar) record() {
	add := func(kind, name string, source any) {
		sc.Record = append(sc.Record, RecordPart{Key: RecordKey(kind, name), Hash: partHash(source, sc.Values)})
	}
	for i, f := range Fields {
		for _, p := range sc.Parts[i] {
			if f.record != nil {
				f.record(p, add)
			} else {
				add(f.Record, p.Name, p.Source)
			}
		}
	}
	slices.SortFunc(sc.Record, func(a, b RecordPart) int { return strings.Compare(a.Key, b.Key) })
	h := sha256.New()
	for _, p := range sc.Record {
		h.Write([]byte(p.Key + "=" + p.Hash + "\n"))
	}
	sc.Hash = hex.EncodeToString(h.Sum(nil)[:6])
}

// partHash hashes a part's source with the values of the knobs its templates read.
func partHash(source any, values map[string]string) string {
	canonical, _ := json.Marshal(source) // map keys sorted: the same part, the same hash
	h := sha256.New()
	h.Write(canonical)
	for _, k := range knobsRead(source, values) {
		v, ok := values[k]
		if !ok {
			v = "\x00unset"
		}
		h.Write([]byte("\n" + k + "=" + v))
	}
	return hex.EncodeToString(h.Sum(nil)[:4])
}

// knobsRead lists, sorted and once each, the knobs the templates in source read.
func knobsRead(source any, values map[string]string) []string {
	var keys []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			read, all := tmpl.ValuesRead(v)
			if all {
				read = slices.Collect(maps.Keys(values))
			}
			keys = append(keys, read...)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for k, e := range v {
				walk(k)
				walk(e)
			}
		}
	}
	walk(source)
	slices.Sort(keys)
	return slices.Compact(keys)
}
