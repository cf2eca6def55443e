package config

import (
	"fmt"
	"strings"
)

// Error is one problem in a configuration file, located as precisely as the file allows.
type Error struct {
	Source  string // the file, or "config"
	Line    int    // 0 when unknown
	Sidecar string // "" for problems outside any sidecar
	Field   string // the path inside the sidecar (or the file), e.g. containers[0].image
	Detail  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Sidecar != "" {
		fmt.Fprintf(&b, "sidecar %q: ", e.Sidecar)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Detail)
	return b.String()
}

// ErrorList is every problem found in one load; Load returns all of them at once so a
// user fixes a file in one pass.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	if len(l) == 1 {
		return msgs[0]
	}
	return fmt.Sprintf("%d problems in the configuration:\n  %s", len(l), strings.Join(msgs, "\n  "))
}
