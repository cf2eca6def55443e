package inject

import (
	"slices"
	"strings"

	"github.com/tandem-io/tandem/internal/config"
)

// Changed lists the keys of the parts (config.RecordKey) whose definition differs between
// what the entry records and sc: changed, added or gone, sorted. known is false for an
// entry written before parts were recorded whose definition has changed since: what
// changed cannot be told, only that something may have.
func (e StatusSidecar) Changed(sc *config.Sidecar) (keys []string, known bool) {
	if e.Parts == nil {
		return nil, e.Hash == sc.LegacyHash
	}
	if e.Hash == sc.Hash {
		return nil, true
	}
	for _, p := range sc.Record {
		if e.Parts[p.Key] != p.Hash {
			keys = append(keys, p.Key)
		}
	}
	for k := range e.Parts {
		if !slices.ContainsFunc(sc.Record, func(p config.RecordPart) bool { return p.Key == k }) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, true
}

// Current says whether the entry records sc as it is now.
func (e StatusSidecar) Current(sc *config.Sidecar) bool {
	keys, known := e.Changed(sc)
	return known && len(keys) == 0
}

// PartName says a record key for people: "container proxy", "env HTTP_PROXY".
func PartName(key string) string {
	kind, name := config.SplitRecordKey(key)
	return kind + " " + name
}

// PartNames says record keys for people, joined: "image proxy, env HTTP_PROXY".
func PartNames(keys []string) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = PartName(k)
	}
	return strings.Join(names, ", ")
}
