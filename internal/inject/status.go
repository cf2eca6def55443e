package inject

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tandem-io/tandem/internal/config"
)

// Status is the value of the tandem.io/status annotation: what was injected, and from
// which definition of each sidecar; and which sidecars asked for were left out, and why,
// so that a pod that went through Tandem can be told from one that never did.
//
// This file is its one codec. The engine writes it without reflection
// (appendStatusJSON); the compiled policy writes it in CEL from StatusJSON and the entry
// functions; ParseStatus reads it. status_test.go holds the three to encoding/json.
type Status struct {
	Sidecars []StatusSidecar `json:"sidecars"`
	Skipped  []StatusSkipped `json:"skipped,omitempty"`
}

// StatusSidecar is a sidecar injected, with the hash of what it put into the pod and,
// part by part, the hash of each part's definition (config.RecordPart). Pods injected
// before parts were recorded carry a hash of the whole definition and no parts.
type StatusSidecar struct {
	Name  string            `json:"name"`
	Hash  string            `json:"hash"`
	Parts map[string]string `json:"parts"`
}

// StatusSkipped is a sidecar asked for and left out, with the reason.
type StatusSkipped struct {
	Name   string `json:"name"`
	Reason Reason `json:"reason"`
}

// ParseStatus reads a status annotation's value.
func ParseStatus(value string) (Status, error) {
	var st Status
	err := json.Unmarshal([]byte(value), &st)
	return st, err
}

// Format writes st as the engine does: the value of a status annotation.
func (st Status) Format() string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the annotation is not HTML, and the engine does not escape it
	if st.Sidecars == nil {
		st.Sidecars = []StatusSidecar{}
	}
	_ = enc.Encode(st) // strings and maps of strings: nothing to fail
	return strings.TrimSuffix(buf.String(), "\n")
}

// EntryOf is the status entry of sc as the engine writes it now.
func EntryOf(sc *config.Sidecar) StatusSidecar {
	parts := make(map[string]string, len(sc.Record))
	for _, p := range sc.Record {
		parts[p.Key] = p.Hash
	}
	return StatusSidecar{Name: sc.Name, Hash: sc.Hash, Parts: parts}
}

// The status JSON in pieces: statusOpen, the injected entries, then, when any sidecar
// was skipped, statusSkipped and the skipped entries; then statusClose.
const (
	statusOpen    = `{"sidecars":[`
	statusSkipped = `],"skipped":[`
	statusClose   = `]}`
	// StatusEntrySeparator separates the entries of either list.
	StatusEntrySeparator = ","
)

// StatusJSON writes a status from its entries already joined by StatusEntrySeparator:
// sidecars are StatusSidecarEntry's, skipped StatusSkippedEntry's ("" when none).
func StatusJSON(sidecars, skipped string) string {
	if skipped == "" {
		return statusOpen + sidecars + statusClose
	}
	return statusOpen + sidecars + statusSkipped + skipped + statusClose
}

// StatusSidecarEntry is the entry of an injected sidecar.
func StatusSidecarEntry(sc *config.Sidecar) string { return string(appendSidecarEntry(nil, sc)) }

// StatusSkippedEntry is the entry of a sidecar left out for reason.
func StatusSkippedEntry(name, reason string) string {
	return string(appendSkippedEntry(nil, name, reason))
}

func appendSidecarEntry(js []byte, sc *config.Sidecar) []byte {
	js = appendString(append(js, `{"name":`...), sc.Name)
	js = appendString(append(js, `,"hash":`...), sc.Hash)
	js = append(js, `,"parts":{`...)
	for i, p := range sc.Record { // sorted by key, as encoding/json writes a map
		if i > 0 {
			js = append(js, ',')
		}
		js = append(appendString(js, p.Key), ':')
		js = appendString(js, p.Hash)
	}
	return append(js, "}}"...)
}

func appendSkippedEntry(js []byte, name, reason string) []byte {
	js = appendString(append(js, `{"name":`...), name)
	return append(appendString(append(js, `,"reason":`...), reason), '}')
}

// skippedSidecar and injected are the plan's entries; injected also keeps the sidecar, to
// name who took a name.
type skippedSidecar = StatusSkipped

type injected struct {
	StatusSidecar
	sidecar *config.Sidecar
}

// statusValue renders the status annotation's value, as a JSON string, in the plan's
// render buffer.
func (p *plan) statusValue() []byte {
	var scratch [1024]byte // a status of a few sidecars, with their parts, fits
	start := len(p.rendered)
	p.rendered = appendStatus(p.rendered, appendStatusJSON(scratch[:0], p.status, p.skipped))
	return p.rendered[start:len(p.rendered):len(p.rendered)]
}

// appendStatusJSON writes the status annotation's value as JSON, without reflection.
func appendStatusJSON(js []byte, list []injected, skipped []skippedSidecar) []byte {
	js = append(js, statusOpen...)
	for i, in := range list {
		if i > 0 {
			js = append(js, StatusEntrySeparator...)
		}
		js = appendSidecarEntry(js, in.sidecar)
	}
	if len(skipped) > 0 {
		js = append(js, statusSkipped...)
		for i, s := range skipped {
			if i > 0 {
				js = append(js, StatusEntrySeparator...)
			}
			js = appendSkippedEntry(js, s.Name, string(s.Reason))
		}
	}
	return append(js, statusClose...)
}

// appendStatus appends the status JSON as a JSON string.
func appendStatus(dst, js []byte) []byte {
	dst, _ = jsontext.AppendQuote(dst, js)
	return dst
}

// alreadyInjected is the result for a pod that carries a status annotation: it is left as
// it is. A sidecar whose definition has changed since (or left the config) is worth a
// warning, since only recreating the pod brings the current one.
func alreadyInjected(value string, cfg *config.Config) Result {
	st, err := ParseStatus(value)
	if err != nil {
		msg := fmt.Sprintf("annotation %s is not Tandem's (%v); the pod is left as it is", StatusKey, err)
		return Result{Reason: ReasonForeignStatus, Message: msg, Warnings: []string{Warning(ReasonForeignStatus, msg)}}
	}
	res := Result{Reason: ReasonAlreadyInjected, Message: "already injected"}
	for _, s := range st.Sidecars {
		d := SidecarDecision{Name: s.Name, Decision: DecisionInjected, Reason: ReasonAlreadyInjected, Message: "injected from the current definition"}
		if sc := cfg.Sidecar(s.Name); sc == nil {
			d.Reason, d.Message = ReasonOutdated, NoLongerConfigured(s.Name)
		} else if changed, known := s.Changed(sc); !known || len(changed) > 0 {
			d.Reason, d.Message = ReasonOutdated, OlderDefinition(s.Name, PartNames(changed))
		}
		if d.Reason == ReasonOutdated {
			res.Reason, res.Message = ReasonOutdated, "already injected, from an older definition"
			res.Warnings = append(res.Warnings, Warning(d.Reason, d.Message))
		}
		res.Sidecars = append(res.Sidecars, d)
	}
	for _, s := range st.Skipped {
		res.Sidecars = append(res.Sidecars, SidecarDecision{Name: s.Name, Decision: DecisionSkipped, Reason: s.Reason,
			Message: fmt.Sprintf("sidecar %q was left out when the pod was admitted (%s)", s.Name, s.Reason)})
	}
	return res
}
