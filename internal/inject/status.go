package inject

import (
	"encoding/json"
	"fmt"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tandem-io/tandem/internal/config"
)

// status is the value of the tandem.io/status annotation: what was injected, and from
// which definition of each sidecar; and which sidecars asked for were left out, and why,
// so that a pod that went through Tandem can be told from one that never did.
type status struct {
	Sidecars []injected       `json:"sidecars"`
	Skipped  []skippedSidecar `json:"skipped,omitempty"`
}

type skippedSidecar struct {
	Name   string `json:"name"`
	Reason Reason `json:"reason"`
}

type injected struct {
	Name    string          `json:"name"`
	Hash    string          `json:"hash"`
	sidecar *config.Sidecar // in the plan, to name who took a name
}

// statusValue renders the status annotation's value, as a JSON string, in the plan's
// render buffer.
func (p *plan) statusValue() []byte {
	var scratch [256]byte
	start := len(p.rendered)
	p.rendered = appendStatus(p.rendered, appendStatusJSON(scratch[:0], p.status, p.skipped))
	return p.rendered[start:len(p.rendered):len(p.rendered)]
}

// appendStatusJSON writes the status annotation's value as JSON, without reflection.
func appendStatusJSON(js []byte, list []injected, skipped []skippedSidecar) []byte {
	js = append(js, `{"sidecars":[`...)
	for i, in := range list {
		if i > 0 {
			js = append(js, ',')
		}
		js = append(js, `{"name":`...)
		js = appendString(js, in.Name)
		js = append(js, `,"hash":`...)
		js = appendString(js, in.Hash)
		js = append(js, '}')
	}
	js = append(js, ']')
	if len(skipped) > 0 {
		js = append(js, `,"skipped":[`...)
		for i, s := range skipped {
			if i > 0 {
				js = append(js, ',')
			}
			js = append(js, `{"name":`...)
			js = appendString(js, s.Name)
			js = append(js, `,"reason":`...)
			js = appendString(js, string(s.Reason))
			js = append(js, '}')
		}
		js = append(js, ']')
	}
	return append(js, '}')
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
	var st status
	if err := json.Unmarshal([]byte(value), &st); err != nil {
		msg := fmt.Sprintf("annotation %s is not Tandem's (%v); the pod is left as it is", StatusKey, err)
		return Result{Reason: ReasonForeignStatus, Message: msg, Warnings: []string{warning(ReasonForeignStatus, msg)}}
	}
	res := Result{Reason: ReasonAlreadyInjected, Message: "already injected"}
	for _, s := range st.Sidecars {
		d := SidecarDecision{Name: s.Name, Decision: DecisionInjected, Reason: ReasonAlreadyInjected, Message: "injected from the current definition"}
		switch sc := cfg.Sidecar(s.Name); {
		case sc == nil:
			d.Reason, d.Message = ReasonOutdated, fmt.Sprintf("sidecar %q was injected but is no longer in the Tandem config", s.Name)
		case sc.Hash != s.Hash:
			d.Reason, d.Message = ReasonOutdated, fmt.Sprintf("sidecar %q was injected from an older definition; recreate the pod to get the current one", s.Name)
		}
		if d.Reason == ReasonOutdated {
			res.Reason, res.Message = ReasonOutdated, "already injected, from an older definition"
			res.Warnings = append(res.Warnings, warning(d.Reason, d.Message))
		}
		res.Sidecars = append(res.Sidecars, d)
	}
	for _, s := range st.Skipped {
		res.Sidecars = append(res.Sidecars, SidecarDecision{Name: s.Name, Decision: DecisionSkipped, Reason: s.Reason,
			Message: fmt.Sprintf("sidecar %q was left out when the pod was admitted (%s)", s.Name, s.Reason)})
	}
	return res
}
