package rollout

import (
	"encoding/json"
	"slices"
)

// mergeStatus is the status annotation of a pod whose sidecar alone is brought up to
// date: old's record of every other sidecar, updated's of sidecar. It reads the records
// only by name, whatever else they hold. When either value cannot be read it returns "",
// and the rollout writes no status: the pod then still shows as outdated, never as
// current by mistake.
func mergeStatus(old, updated, sidecar string) string {
	var o, u map[string]json.RawMessage
	if json.Unmarshal([]byte(old), &o) != nil || json.Unmarshal([]byte(updated), &u) != nil {
		return ""
	}
	entry, ok := findEntry(u["sidecars"], sidecar)
	if !ok {
		return ""
	}
	var list []json.RawMessage
	if json.Unmarshal(o["sidecars"], &list) != nil {
		return ""
	}
	i := slices.IndexFunc(list, func(e json.RawMessage) bool { return entryName(e) == sidecar })
	if i < 0 {
		list = append(list, entry)
	} else {
		list[i] = entry
	}
	var err error
	if o["sidecars"], err = json.Marshal(list); err != nil {
		return ""
	}
	merged, err := json.Marshal(o)
	if err != nil {
		return ""
	}
	return string(merged)
}

func findEntry(raw json.RawMessage, name string) (json.RawMessage, bool) {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil, false
	}
	for _, e := range list {
		if entryName(e) == name {
			return e, true
		}
	}
	return nil, false
}

func entryName(e json.RawMessage) string {
	var v struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(e, &v)
	return v.Name
}
