package policy

import (
	"strconv"
	"strings"

	"github.com/tandem-io/tandem/internal/inject"
)

// sentence is one of the engine's sentences (or the status format) as the compiled
// policies say it: the engine's own builder, called with placeholders that become CEL.
// The policies write no message text of their own; sentences_test.go renders every
// entry of sentences both ways and compares.
type sentence struct {
	args  int
	build func(a []string) string
}

var (
	sayUnknownSidecar = sentence{3, func(a []string) string { return inject.UnknownSidecarDenial(a[0], a[1], a[2]) }}
	sayNotAllowed     = sentence{3, func(a []string) string { return inject.NamespaceNotAllowedDenial(a[0], a[1], a[2]) }}
	sayKnobSidecar    = sentence{3, func(a []string) string { return inject.KnobSidecarDenial(a[0], a[1], a[2]) }}
	sayKnobName       = sentence{4, func(a []string) string { return inject.KnobNameDenial(a[0], a[1], a[2], a[3]) }}
	sayKnobValue      = sentence{3, func(a []string) string { return inject.KnobValueDenial(a[0], a[1], a[2]) }}
	sayHostDenial     = sentence{1, func(a []string) string { return inject.HostNetworkDenial(a[0]) }}
	sayClashDenial    = sentence{2, func(a []string) string { return inject.ClashDenial(a[0], a[1]) }}
	sayContainerTaken = sentence{2, func(a []string) string { return inject.ContainerNameTaken(a[0], a[1]) }}
	sayVolumeTaken    = sentence{2, func(a []string) string { return inject.VolumeNameTaken(a[0], a[1]) }}
	sayPortTaken      = sentence{3, func(a []string) string { return inject.PortTaken(a[0], a[1], a[2]) }}
	saySidecarOwner   = sentence{1, func(a []string) string { return inject.SidecarOwner(a[0]) }}
	sayPodContainer   = sentence{1, func(a []string) string { return inject.PodContainerOwner(a[0]) }}
	sayNamespaceLabel = sentence{1, func(a []string) string { return inject.SourceNamespaceLabel(a[0]) }}
	sayWarning        = sentence{2, func(a []string) string { return inject.Warning(inject.Reason(a[0]), a[1]) }}
	sayLeftOut        = sentence{1, func(a []string) string { return inject.BestEffortLeftOut(a[0]) }}
	sayHostSkip       = sentence{1, func(a []string) string { return inject.HostNetworkSkip(a[0]) }}
	sayHostPortsSkip  = sentence{1, func(a []string) string { return inject.HostNetworkPortsSkip(a[0]) }}
	sayStatus         = sentence{2, func(a []string) string { return inject.StatusJSON(a[0], a[1]) }}
	sayStatusInjected = sentence{1, func(a []string) string { return inject.StatusJSON(a[0], "") }}
	saySkippedEntry   = sentence{2, func(a []string) string { return inject.StatusSkippedEntry(a[0], a[1]) }}
)

// sentences lists them all, for the test.
var sentences = map[string]sentence{
	"UnknownSidecarDenial": sayUnknownSidecar, "NamespaceNotAllowedDenial": sayNotAllowed,
	"KnobSidecarDenial": sayKnobSidecar, "KnobNameDenial": sayKnobName, "KnobValueDenial": sayKnobValue,
	"HostNetworkDenial": sayHostDenial, "HostNetworkSkip": sayHostSkip, "HostNetworkPortsSkip": sayHostPortsSkip, "ClashDenial": sayClashDenial,
	"ContainerNameTaken": sayContainerTaken, "VolumeNameTaken": sayVolumeTaken, "PortTaken": sayPortTaken,
	"SidecarOwner": saySidecarOwner, "PodContainerOwner": sayPodContainer, "SourceNamespaceLabel": sayNamespaceLabel,
	"Warning": sayWarning, "BestEffortLeftOut": sayLeftOut,
	"StatusJSON": sayStatus, "StatusJSON without skipped": sayStatusInjected,
	"StatusSkippedEntry": saySkippedEntry,
}

// arg is a variable part of a sentence: a value known when compiling, or a CEL string
// expression evaluated at admission.
type arg struct {
	value, expr string
	isExpr      bool
}

func lit(value string) arg { return arg{value: value} }
func expr(e string) arg    { return arg{expr: e, isExpr: true} }

// cel renders the sentence as a CEL string expression. Each CEL argument goes to the
// engine's builder as a placeholder; where the sentence has it bare, the expression takes
// its place, and where quoted as Go's %q, strings.quote of it (the same for the names and
// reasons the sentences quote). The text between becomes string literals.
func (s sentence) cel(args ...arg) string {
	values := make([]string, s.args)
	var exprs []string
	for i := range min(len(args), s.args) {
		if !args[i].isExpr {
			values[i] = args[i].value
			continue
		}
		values[i] = placeholder(len(exprs))
		exprs = append(exprs, args[i].expr)
	}
	text := s.build(values)
	var terms []string
	var literal strings.Builder
	flush := func() {
		if literal.Len() > 0 {
			terms = append(terms, quote(literal.String()))
			literal.Reset()
		}
	}
	for len(text) > 0 {
		i, quoted, n := nextPlaceholder(text, len(exprs))
		if i < 0 {
			literal.WriteString(text)
			break
		}
		literal.WriteString(text[:i])
		flush()
		e := exprs[n]
		if quoted {
			e = "strings.quote(" + e + ")"
		} else if strings.ContainsAny(e, " ?:") {
			e = "(" + e + ")" // a sum or a condition inside a sum
		}
		terms = append(terms, e)
		text = text[i+len(placeholderForm(n, quoted)):]
	}
	flush()
	return joinOr(terms, " + ", "''")
}

// placeholder is the n-th argument as the builder receives it: brackets no sentence,
// name or reason holds, and which neither %q nor JSON escapes.
func placeholder(n int) string { return "⟦" + strconv.Itoa(n) + "⟧" }

func placeholderForm(n int, quoted bool) string {
	if quoted {
		return strconv.Quote(placeholder(n))
	}
	return placeholder(n)
}

// nextPlaceholder finds the first placeholder in text, quoted forms first.
func nextPlaceholder(text string, count int) (at int, quoted bool, n int) {
	at = -1
	for i := range count {
		for _, q := range []bool{true, false} {
			if j := strings.Index(text, placeholderForm(i, q)); j >= 0 && (at < 0 || j < at) {
				at, quoted, n = j, q, i
			}
		}
	}
	return at, quoted, n
}
