package policy

import (
	"fmt"
	"strings"
	"text/template/parse"

	"github.com/tandem-io/tandem/internal/tmpl"
)

// templateCEL translates a template string into a CEL string expression. Templates
// built from the documented fields, lookups and the functions with an exact CEL
// equivalent translate; anything else is an error that says what has no CEL form, and the
// sidecar stays with the webhook.
type templateCEL struct {
	sidecar string
	knobs   string // the CEL variable holding the sidecar's knob values
}

// maxExpression bounds the CEL of one template action.
const maxExpression = 16 << 10

// Unsupported is a part of a template that has no exact CEL equivalent.
type Unsupported struct{ What string }

func (u *Unsupported) Error() string { return u.What }

func unsupported(format string, args ...any) error {
	return &Unsupported{What: fmt.Sprintf(format, args...)}
}

func (t templateCEL) translate(path, text string) (string, error) {
	if !tmpl.IsTemplate(text) {
		return quote(text), nil
	}
	parsed, err := tmpl.Parse(path, text)
	if err != nil {
		return "", err // the loader has parsed it once: not expected
	}
	var pieces []string
	for _, n := range parsed.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			pieces = append(pieces, quote(string(n.Text)))
		case *parse.ActionNode:
			e, err := t.pipe(n.Pipe)
			if err != nil {
				return "", err
			}
			pieces = append(pieces, e)
		case *parse.CommentNode:
		default:
			return "", unsupported("%q has no CEL form here (only fields, lookups and the functions default, trim, trimPrefix, trimSuffix, replace and index translate)", n.String())
		}
	}
	if len(pieces) == 0 {
		return "''", nil
	}
	// string(): the maps the fields come from are typed dyn, and CEL types a list or map
	// literal by its elements.
	return "string(" + strings.Join(pieces, " + ") + ")", nil
}

func (t templateCEL) pipe(p *parse.PipeNode) (string, error) {
	if len(p.Decl) > 0 {
		return "", unsupported("template variables (%s) have no CEL form here", p.String())
	}
	var prev *string
	for _, cmd := range p.Cmds {
		e, err := t.command(cmd.Args, prev)
		if err != nil {
			return "", err
		}
		// CEL has no let: a function's argument is written out each time it is used, so
		// each nested default or trimPrefix multiplies the expression.
		if len(e) > maxExpression {
			return "", unsupported("the template nests functions too deeply to translate (its CEL would exceed %d bytes)", maxExpression)
		}
		prev = &e
	}
	return *prev, nil
}

// command translates one command of a pipeline; piped is the previous command's value,
// which text/template passes as the last argument.
func (t templateCEL) command(args []parse.Node, piped *string) (string, error) {
	if id, ok := args[0].(*parse.IdentifierNode); ok && id.Ident == "index" {
		return t.index(args[1:], piped)
	}
	var operands []string
	for _, a := range args[1:] {
		e, err := t.operand(a)
		if err != nil {
			return "", err
		}
		operands = append(operands, e)
	}
	if piped != nil {
		operands = append(operands, *piped)
	}
	switch head := args[0].(type) {
	case *parse.FieldNode:
		if len(operands) == 0 {
			return t.field(head.Ident)
		}
		return t.method(head.Ident, operands)
	case *parse.IdentifierNode:
		return t.function(head.Ident, operands)
	case *parse.StringNode, *parse.PipeNode:
		if len(operands) > 0 {
			return "", unsupported("%q cannot take arguments", head.String())
		}
		return t.operand(head)
	}
	return "", unsupported("%q has no CEL form here", args[0].String())
}

func (t templateCEL) operand(n parse.Node) (string, error) {
	switch n := n.(type) {
	case *parse.StringNode:
		return quote(n.Text), nil
	case *parse.FieldNode:
		return t.field(n.Ident)
	case *parse.PipeNode:
		e, err := t.pipe(n)
		if err != nil {
			return "", err
		}
		return "(" + e + ")", nil
	}
	return "", unsupported("%q has no CEL form here (only strings, fields and pipelines translate)", n.String())
}

// The maps templates may look into, as CEL.
var templateMaps = map[string]string{
	"Pod.Labels":       "variables.labels",
	"Pod.Annotations":  "variables.annotations",
	"Namespace.Labels": "variables.nsLabels",
}

func (t templateCEL) field(ident []string) (string, error) {
	name := strings.Join(ident, ".")
	switch name {
	case "Pod.Name":
		return "object.metadata.?name.orValue('')", nil
	case "Pod.GenerateName":
		return "object.metadata.?generateName.orValue('')", nil
	case "Pod.Namespace":
		return "object.metadata.?namespace.orValue('')", nil
	case "Namespace.Name":
		return "request.namespace", nil
	case "Sidecar":
		return quote(t.sidecar), nil
	}
	if len(ident) == 2 && ident[0] == "Values" {
		return t.knobs + "[" + quote(ident[1]) + "]", nil
	}
	if _, isMap := templateMaps[name]; isMap {
		return "", unsupported(".%s prints a Go map, which has no CEL form; look one key up with index or .%s", name, strings.TrimSuffix(name, "s"))
	}
	return "", unsupported(".%s has no CEL form", name)
}

// method translates .Pod.Label, .Pod.Annotation and .Namespace.Label.
func (t templateCEL) method(ident []string, args []string) (string, error) {
	name := strings.Join(ident, ".")
	m, ok := templateMaps[name+"s"]
	if !ok || len(args) != 2 {
		return "", unsupported(".%s with arguments has no CEL form", name)
	}
	return lookup(m, args[0], args[1]), nil
}

func lookup(m, key, def string) string {
	return "(" + key + " in " + m + " ? " + m + "[" + key + "] : " + def + ")"
}

// function translates the template functions whose CEL form gives the same string for
// every input. lower and upper do not: CEL's lowerAscii and upperAscii leave letters
// outside ASCII as they are, where Go's ToLower and ToUpper map them.
func (t templateCEL) function(name string, args []string) (string, error) {
	want := map[string]int{"default": 2, "trim": 1, "trimPrefix": 2, "trimSuffix": 2, "replace": 3}
	n, ok := want[name]
	switch {
	case name == "lower" || name == "upper":
		return "", unsupported("the template function %s has no exact CEL equivalent (CEL's %sAscii leaves letters outside ASCII as they are)", name, name)
	case !ok:
		return "", unsupported("the template function %s has no CEL form here (translated: default, trim, trimPrefix, trimSuffix, replace and index)", name)
	case len(args) != n:
		return "", unsupported("%s with %d arguments has no CEL form", name, len(args))
	}
	a := args
	switch name {
	case "default":
		return "((" + a[1] + ") == '' ? " + a[0] + " : " + a[1] + ")", nil
	case "trim":
		return "(" + a[0] + ").trim()", nil
	case "trimPrefix":
		return "((" + a[1] + ").startsWith(" + a[0] + ") ? (" + a[1] + ").substring(size(" + a[0] + ")) : " + a[1] + ")", nil
	case "trimSuffix":
		return "((" + a[1] + ").endsWith(" + a[0] + ") ? (" + a[1] + ").substring(0, size(" + a[1] + ") - size(" + a[0] + ")) : " + a[1] + ")", nil
	case "replace":
		return "(" + a[2] + ").replace(" + a[0] + ", " + a[1] + ")", nil
	}
	return "", unsupported("the template function %s has no CEL form here", name)
}

// index translates {{ index .Pod.Labels "key" }} and the like: a missing key gives "", as
// text/template's index does.
func (t templateCEL) index(args []parse.Node, piped *string) (string, error) {
	n := len(args)
	if piped != nil {
		n++
	}
	if n != 2 {
		return "", unsupported("index with %d arguments has no CEL form", n)
	}
	f, ok := args[0].(*parse.FieldNode)
	m, isMap := "", false
	if ok {
		m, isMap = templateMaps[strings.Join(f.Ident, ".")]
	}
	if !isMap {
		return "", unsupported("index is translated only into .Pod.Labels, .Pod.Annotations and .Namespace.Labels")
	}
	var key string
	if piped != nil {
		key = *piped
	} else {
		var err error
		if key, err = t.operand(args[1]); err != nil {
			return "", err
		}
	}
	return lookup(m, key, "''"), nil
}
