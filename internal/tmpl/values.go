package tmpl

import (
	"text/template/parse"
)

// ValuesRead lists the knobs a template string reads ({{ .Values.cpu }},
// {{ index .Values "cpu" }}), so that what a part renders can be identified by its text
// and those knobs' values alone. all is true when the template reads .Values in a way
// that names no key (a range over it, an index by a variable): then every knob counts.
// A string that is not a template, or does not parse, reads none.
func ValuesRead(text string) (keys []string, all bool) {
	if !IsTemplate(text) {
		return nil, false
	}
	t, err := Parse("values", text)
	if err != nil {
		return nil, false
	}
	w := valuesWalker{}
	w.list(t.Root)
	return w.keys, w.all
}

type valuesWalker struct {
	keys []string
	all  bool
}

func (w *valuesWalker) list(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		w.node(n)
	}
}

func (w *valuesWalker) node(n parse.Node) {
	switch n := n.(type) {
	case *parse.ActionNode:
		w.pipe(n.Pipe)
	case *parse.IfNode:
		w.branch(&n.BranchNode)
	case *parse.RangeNode:
		w.branch(&n.BranchNode)
	case *parse.WithNode:
		w.branch(&n.BranchNode)
	case *parse.ListNode:
		w.list(n)
	case *parse.TemplateNode:
		w.pipe(n.Pipe)
	}
}

func (w *valuesWalker) branch(b *parse.BranchNode) {
	w.pipe(b.Pipe)
	w.list(b.List)
	w.list(b.ElseList)
}

func (w *valuesWalker) pipe(p *parse.PipeNode) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		w.command(c)
	}
}

// command finds .Values chains among a command's arguments; `index .Values "key"` names
// its key.
func (w *valuesWalker) command(c *parse.CommandNode) {
	for i, arg := range c.Args {
		if i == 1 && isIdentifier(c.Args[0], "index") && len(c.Args) >= 3 && isValues(arg) {
			if key, ok := c.Args[2].(*parse.StringNode); ok {
				w.keys = append(w.keys, key.Text)
				continue
			}
		}
		switch a := arg.(type) {
		case *parse.PipeNode:
			w.pipe(a)
		default:
			w.chain(fieldPath(arg))
		}
	}
}

func (w *valuesWalker) chain(path []string) {
	if len(path) == 0 || path[0] != "Values" {
		return
	}
	if len(path) == 1 {
		w.all = true
		return
	}
	w.keys = append(w.keys, path[1])
}

// fieldPath is the field chain an argument reads from the data: .Values.cpu and
// $.Values.cpu both give [Values cpu].
func fieldPath(n parse.Node) []string {
	switch n := n.(type) {
	case *parse.FieldNode:
		return n.Ident
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			return n.Ident[1:]
		}
	case *parse.ChainNode:
		if _, ok := n.Node.(*parse.DotNode); ok {
			return n.Field
		}
	}
	return nil
}

func isValues(n parse.Node) bool {
	p := fieldPath(n)
	return len(p) == 1 && p[0] == "Values"
}

func isIdentifier(n parse.Node, name string) bool {
	id, ok := n.(*parse.IdentifierNode)
	return ok && id.Ident == name
}
