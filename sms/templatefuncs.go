package sms

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// pluralForms are the CLDR plural categories a plural call may name.
var pluralForms = map[string]plural.Form{
	"zero": plural.Zero, "one": plural.One, "two": plural.Two,
	"few": plural.Few, "many": plural.Many, "other": plural.Other,
}

// funcs are the template functions of a text in language tag: plural and
// number, bound to that language when the text is parsed, so rendering
// does no language lookup.
func funcs(tag language.Tag) template.FuncMap {
	p := message.NewPrinter(tag)
	num := func(n int) string { return p.Sprint(number.Decimal(n)) }
	return template.FuncMap{
		"number": num,
		"plural": func(n int, pairs ...string) (string, error) {
			return pluralText(tag, num, n, pairs)
		},
	}
}

// pluralText picks the text of n's plural category in tag from
// category/text pairs, falling back to "other", and writes n for '#'. The
// arguments are checked in full on every call, so a mistake shows when
// NewLocalizedTemplates tries the template, whichever branch it takes.
func pluralText(tag language.Tag, num func(int) string, n int, pairs []string) (string, error) {
	if len(pairs) == 0 || len(pairs)%2 != 0 {
		return "", errors.New(`plural: want a number then category/text pairs, e.g. "one" "# minute" "other" "# minutes"`)
	}
	abs := n
	if abs < 0 {
		abs = -abs
	}
	want := plural.Cardinal.MatchPlural(tag, abs, 0, 0, 0, 0)
	var chosen, other string
	var found, hasOther bool
	for i := 0; i < len(pairs); i += 2 {
		form, ok := pluralForms[pairs[i]]
		if !ok {
			return "", fmt.Errorf("plural: %q is not a CLDR plural category (zero, one, two, few, many, other)", pairs[i])
		}
		if form == plural.Other {
			other, hasOther = pairs[i+1], true
		}
		if form == want && !found {
			chosen, found = pairs[i+1], true
		}
	}
	if !hasOther {
		return "", errors.New(`plural: an "other" text is required`)
	}
	if !found {
		chosen = other
	}
	return strings.ReplaceAll(chosen, "#", num(n)), nil
}

// usesField reports whether any action of p names the field (".Code",
// "$.Code", "$x.Code"), in any branch.
func usesField(p *template.Template, field string) bool {
	for _, t := range p.Templates() {
		if t.Tree != nil && nodeUses(t.Tree.Root, field) {
			return true
		}
	}
	return false
}

func nodeUses(n parse.Node, field string) bool {
	switch n := n.(type) {
	case nil:
		return false
	case *parse.ListNode:
		if n == nil {
			return false
		}
		for _, c := range n.Nodes {
			if nodeUses(c, field) {
				return true
			}
		}
	case *parse.ActionNode:
		return nodeUses(n.Pipe, field)
	case *parse.IfNode:
		return branchUses(&n.BranchNode, field)
	case *parse.RangeNode:
		return branchUses(&n.BranchNode, field)
	case *parse.WithNode:
		return branchUses(&n.BranchNode, field)
	case *parse.TemplateNode:
		return nodeUses(n.Pipe, field)
	case *parse.PipeNode:
		if n == nil {
			return false
		}
		for _, c := range n.Cmds {
			if nodeUses(c, field) {
				return true
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if nodeUses(a, field) {
				return true
			}
		}
	case *parse.FieldNode:
		return containsIdent(n.Ident, field)
	case *parse.VariableNode:
		return containsIdent(n.Ident[1:], field)
	case *parse.ChainNode:
		return containsIdent(n.Field, field) || nodeUses(n.Node, field)
	}
	return false
}

func branchUses(b *parse.BranchNode, field string) bool {
	return nodeUses(b.Pipe, field) || nodeUses(b.List, field) || nodeUses(b.ElseList, field)
}

func containsIdent(idents []string, field string) bool {
	for _, id := range idents {
		if id == field {
			return true
		}
	}
	return false
}
