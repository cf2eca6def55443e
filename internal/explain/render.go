package explain

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/tandem-io/tandem/internal/output"
)

// Formats are the values of `tandem explain -o`.
var Formats = []string{"text", "json", "yaml"}

// Write renders pods in format, one of Formats.
func Write(w io.Writer, format string, pods []Pod) error {
	switch format {
	case "text":
		return WriteText(w, pods)
	case "json":
		return WriteJSON(w, pods)
	case "yaml":
		return WriteYAML(w, pods)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// WriteJSON writes pods as an indented JSON array.
func WriteJSON(w io.Writer, pods []Pod) error {
	return output.JSON(w, nonNilPods(pods))
}

// WriteYAML writes pods as a YAML sequence, with the keys in the JSON's order (kind,
// namespace and name first).
func WriteYAML(w io.Writer, pods []Pod) error {
	return output.YAML(w, nonNilPods(pods))
}

func nonNilPods(pods []Pod) []Pod {
	if pods == nil {
		return []Pod{}
	}
	return pods
}

// WriteText writes pods for people: a block per pod or template, tables aligned, no
// colours, and a last line that sums up.
func WriteText(w io.Writer, pods []Pod) error {
	var b bytes.Buffer
	for i, p := range pods {
		if i > 0 {
			b.WriteString("\n")
		}
		writePod(&b, p)
	}
	b.WriteString(summary(pods))
	_, err := w.Write(b.Bytes())
	return err
}

func writePod(b *bytes.Buffer, p Pod) {
	name := p.Name
	if name == "" {
		name = "(unnamed)"
	}
	b.WriteString(p.Kind + " " + p.Namespace + "/" + name)
	if p.Kind != "Pod" {
		b.WriteString(", pod template")
	}
	b.WriteString("\n")
	fields := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(fields, "  requested:\t%s\n", requested(p))
	outcome := string(p.Reason)
	if p.Message != "" {
		outcome += ": " + p.Message
	}
	if p.Denied {
		outcome = "denied, " + outcome
	}
	fmt.Fprintf(fields, "  outcome:\t%s\n", outcome)
	fmt.Fprintf(fields, "  verdict:\t%s\n", verdict(p))
	fields.Flush()
	if len(p.Sidecars) > 0 {
		table(b, []string{"SIDECAR", "DECISION", "REASON", "MESSAGE"}, len(p.Sidecars), func(i int) []string {
			s := p.Sidecars[i]
			return []string{s.Name, string(s.Decision), string(s.Reason), s.Message}
		})
	}
	if len(p.Knobs) > 0 {
		table(b, []string{"KNOB", "VALUE", "FROM"}, len(p.Knobs), func(i int) []string {
			k := p.Knobs[i]
			return []string{k.Sidecar + "." + k.Name, k.Value, k.From}
		})
	}
	if len(p.Warnings) > 0 {
		b.WriteString("\n  warnings:\n")
		for _, w := range p.Warnings {
			b.WriteString("    " + w + "\n")
		}
	}
}

// table writes an aligned table after a blank line, indented under the pod's name.
func table(b *bytes.Buffer, header []string, rows int, row func(int) []string) {
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\n", strings.Join(header, "\t"))
	for i := range rows {
		// tabwriter pads cells before a tab only, so the last cell (a message) keeps no
		// trailing blanks.
		fmt.Fprintf(tw, "  %s\n", strings.Join(row(i), "\t"))
	}
	tw.Flush()
}

func requested(p Pod) string {
	switch {
	case p.OptedOut:
		return "nothing: opted out by the label tandem.io/inject=false"
	case len(p.Requested) == 0 && p.RequestedBy != "":
		return "nothing, by " + p.RequestedBy
	case len(p.Requested) == 0:
		return "nothing"
	}
	return strings.Join(p.Requested, ", ") + ", by " + p.RequestedBy
}

func verdict(p Pod) string {
	switch {
	case !p.OK:
		return "NOT OK: " + strings.Join(p.Problems, "; ")
	case len(p.Requested) == 0:
		return "ok, asks for no sidecar"
	}
	return "ok, gets every sidecar it asks for"
}

func summary(pods []Pod) string {
	if len(pods) == 0 {
		return "no pods or pod templates\n"
	}
	var missing []string
	for _, p := range pods {
		if !p.OK {
			missing = append(missing, p.Kind+" "+p.Namespace+"/"+p.Name)
		}
	}
	s := fmt.Sprintf("\n%d %s explained; ", len(pods), plural(len(pods), "pod or template", "pods or templates"))
	if len(missing) == 0 {
		return s + "none misses a sidecar it asks for\n"
	}
	return s + fmt.Sprintf("%d %s: %s\n", len(missing),
		plural(len(missing), "misses sidecars it asks for", "miss sidecars they ask for"), strings.Join(missing, ", "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
