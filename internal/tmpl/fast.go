package tmpl

import (
	"github.com/go-json-experiment/json/jsontext"
	"strings"
	"text/template"
	"text/template/parse"
)

// fastTemplate renders the most common templates, text around plain fields such as
// {{ .Values.cpu }} or {{ .Namespace.Name }}, without text/template's reflection. A
// template with anything else (functions, pipes, methods, conditions) has no fast form.
type fastTemplate []fastNode

type fastNode struct {
	text  string
	field func(*Data) (string, bool) // nil for text; false when a value is missing
}

// fastForm returns t's fast form, or nil.
func fastForm(t *template.Template) fastTemplate {
	if t.Tree == nil || t.Root == nil {
		return nil
	}
	var out fastTemplate
	for _, n := range t.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			out = append(out, fastNode{text: string(n.Text)})
		case *parse.ActionNode:
			f := fastField(n)
			if f == nil {
				return nil
			}
			out = append(out, fastNode{field: f})
		default:
			return nil
		}
	}
	return out
}

// fastField recognises an action that is one field chain, or one of the lookups
// .Pod.Label, .Pod.Annotation and .Namespace.Label with plain arguments.
func fastField(n *parse.ActionNode) func(*Data) (string, bool) {
	if len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) != 1 {
		return nil
	}
	args := n.Pipe.Cmds[0].Args
	f, ok := args[0].(*parse.FieldNode)
	if !ok {
		return nil
	}
	if len(args) == 3 {
		return fastLookup(f, args[1], args[2])
	}
	if len(args) != 1 {
		return nil
	}
	switch strings.Join(f.Ident, ".") {
	case "Pod.Name":
		return func(d *Data) (string, bool) { return d.Pod.Name, true }
	case "Pod.GenerateName":
		return func(d *Data) (string, bool) { return d.Pod.GenerateName, true }
	case "Pod.Namespace":
		return func(d *Data) (string, bool) { return d.Pod.Namespace, true }
	case "Namespace.Name":
		return func(d *Data) (string, bool) { return d.Namespace.Name, true }
	case "Sidecar":
		return func(d *Data) (string, bool) { return d.Sidecar, true }
	}
	if len(f.Ident) == 2 && f.Ident[0] == "Values" {
		key := f.Ident[1]
		return func(d *Data) (string, bool) { v, ok := d.Values[key]; return v, ok }
	}
	return nil
}

// fastLookup handles {{ .Pod.Label "key" "default" }} and its siblings.
func fastLookup(f *parse.FieldNode, keyArg, defArg parse.Node) func(*Data) (string, bool) {
	var m func(*Data) map[string]string
	switch strings.Join(f.Ident, ".") {
	case "Pod.Label":
		m = func(d *Data) map[string]string { return d.Pod.Labels }
	case "Pod.Annotation":
		m = func(d *Data) map[string]string { return d.Pod.Annotations }
	case "Namespace.Label":
		m = func(d *Data) map[string]string { return d.Namespace.Labels }
	default:
		return nil
	}
	key, keyOK := keyArg.(*parse.StringNode)
	def := fastArg(defArg)
	if !keyOK || def == nil {
		return nil
	}
	return func(d *Data) (string, bool) {
		if v, ok := m(d)[key.Text]; ok {
			return v, true
		}
		return def(d)
	}
}

// fastArg evaluates a string literal or a fast field used as an argument.
func fastArg(n parse.Node) func(*Data) (string, bool) {
	switch n := n.(type) {
	case *parse.StringNode:
		return func(*Data) (string, bool) { return n.Text, true }
	case *parse.FieldNode:
		return fastField(&parse.ActionNode{Pipe: &parse.PipeNode{Cmds: []*parse.CommandNode{{Args: []parse.Node{n}}}}})
	}
	return nil
}

// appendQuoted renders the template as a JSON string appended to dst, using scratch for
// templates of several pieces; ok is false when a value is missing, and the caller falls
// back to text/template for its error message.
func (f fastTemplate) appendQuoted(dst []byte, d *Data, scratch []byte) ([]byte, bool) {
	if len(f) == 1 && f[0].field != nil {
		v, ok := f[0].field(d)
		if !ok {
			return dst, false
		}
		dst, _ = jsontext.AppendQuote(dst, v)
		return dst, true
	}
	for _, n := range f {
		if n.field == nil {
			scratch = append(scratch, n.text...)
			continue
		}
		v, ok := n.field(d)
		if !ok {
			return dst, false
		}
		scratch = append(scratch, v...)
	}
	dst, _ = jsontext.AppendQuote(dst, scratch)
	return dst, true
}
