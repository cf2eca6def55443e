package config

import (
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// lineOf returns the line of the YAML node at path (e.g. "sidecars[1].containers[0].image"),
// or of its deepest ancestor that exists; 0 when root is nil.
func lineOf(root *yaml.Node, path string) int {
	if root == nil {
		return 0
	}
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, step := range splitPath(path) {
		next, keyLine := child(n, step)
		if next == nil {
			if keyLine > 0 {
				return keyLine
			}
			return line
		}
		n, line = next, next.Line
		if keyLine > 0 {
			line = keyLine
		}
	}
	return line
}

// child finds step below n: a map key, or "[i]" in a sequence. For a map key it also
// returns the key's own line, where an error about that field is best shown.
func child(n *yaml.Node, step string) (*yaml.Node, int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == step {
				return n.Content[i+1], n.Content[i].Line
			}
		}
	case yaml.SequenceNode:
		if strings.HasPrefix(step, "[") {
			i, err := strconv.Atoi(strings.Trim(step, "[]"))
			if err == nil && i >= 0 && i < len(n.Content) {
				return n.Content[i], 0
			}
		}
	}
	return nil, 0
}

// splitPath splits "a[1].b[c.d]" into "a", "[1]", "b", "c.d": indexes keep their
// brackets, map keys in brackets (as field paths write them) become plain steps.
func splitPath(path string) []string {
	var steps []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			steps = append(steps, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; c {
		case '.':
			flush()
		case '[':
			flush()
			end := strings.IndexByte(path[i:], ']')
			if end < 0 { // unclosed, as a key of the user's may be: the rest is the step
				end = len(path) - i
			}
			inner := path[i+1 : i+end]
			if _, err := strconv.Atoi(inner); err == nil {
				inner = "[" + inner + "]"
			}
			steps = append(steps, inner)
			i += end
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return steps
}
