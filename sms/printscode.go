package sms

import (
	"slices"
	"text/template"
	"text/template/parse"
)

// pureFuncs are the template functions whose result depends on their
// arguments alone: text/template's built-ins but call (it runs a function
// value), and this package's plural and number. A template calling any
// other function is not cached, so a function added to funcs that reads a
// clock or a random source is never cached by mistake.
var pureFuncs = map[string]bool{
	"and": true, "or": true, "not": true, "len": true, "index": true, "slice": true,
	"print": true, "printf": true, "println": true, "html": true, "js": true, "urlquery": true,
	"eq": true, "ne": true, "lt": true, "le": true, "gt": true, "ge": true,
	"plural": true, "number": true,
}

// printsCodeOnly reports whether p's output depends on the code only where
// a plain {{.Code}} action prints it: the code is named nowhere else (not
// in a condition, a function's arguments, a pipeline, a variable, $ or
// dot), p calls no other template and only pureFuncs. Anything it does not
// recognise makes it report false.
func printsCodeOnly(p *template.Template) bool {
	return p.Tree != nil && plainNode(p.Tree.Root)
}

func plainNode(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return true
		}
		for _, c := range n.Nodes {
			if !plainNode(c) {
				return false
			}
		}
		return true
	case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode:
		return true
	case *parse.ActionNode:
		return printsCode(n.Pipe) || plainPipe(n.Pipe)
	case *parse.IfNode:
		return plainBranch(&n.BranchNode)
	case *parse.RangeNode:
		return plainBranch(&n.BranchNode)
	case *parse.WithNode:
		return plainBranch(&n.BranchNode)
	}
	return false // {{template}}, {{block}}, and whatever a later Go adds
}

func plainBranch(b *parse.BranchNode) bool {
	return plainPipe(b.Pipe) && plainNode(b.List) && plainNode(b.ElseList)
}

// printsCode reports whether an action's pipeline is exactly {{.Code}}.
func printsCode(p *parse.PipeNode) bool {
	if p == nil || len(p.Decl) != 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	return ok && len(f.Ident) == 1 && f.Ident[0] == "Code"
}

// plainPipe reports whether a pipeline (not a plain {{.Code}}) leaves the
// code alone and declares no variable.
func plainPipe(p *parse.PipeNode) bool {
	if p == nil || len(p.Decl) != 0 {
		return false
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			if !plainArg(a) {
				return false
			}
		}
	}
	return true
}

func plainArg(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.FieldNode:
		return !slices.Contains(n.Ident, "Code")
	case *parse.IdentifierNode:
		return pureFuncs[n.Ident]
	case *parse.PipeNode:
		return plainPipe(n)
	case *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
		return true
	}
	return false // dot, a variable ($, $.Code), a chain, anything else
}
