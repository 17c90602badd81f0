package sms

import (
	"testing"
	"text/template"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// customCode are code texts by name, each marked with whether
// printsCodeOnly must accept it.
var customCode = []struct {
	name, text string
	cacheable  bool
}{
	{"plain", `{{.Code}}`, true},
	{"twice", `{{.Code}} is your {{.AppName}} code.{{if .Domain}}\n\n@{{.Domain}} #{{.Code}}{{end}}`, true},
	{"in if and else", `{{if eq .Minutes 1}}{{.Code}}!{{else if .Domain}}{{.Code}} on {{.Domain}}{{else}}{{.Code}}{{end}}`, true},
	{"in range else", `{{.Code}}{{range .Minutes}}*{{else}} ({{.Code}}){{end}}`, true},
	{"in with else", `{{.Code}}{{with .Domain}} web{{else}} ({{.Code}}){{end}}`, true},
	{"plural and number", `{{.Code}}: {{plural .Minutes "one" "# minute" "other" "# minutes"}}, {{number .Minutes}}, {{len .AppName}} {{printf "%q" .AppName | html}}`, true},
	{"comment and break", `{{/* hi */}}{{.Code}}{{range .Minutes}}{{if gt 2 1}}{{break}}{{end}}{{end}}`, true},
	{"sentinel in the text", "{{.Code}} " + sentinelA, true},
	{"printf", `{{printf "%s" .Code}}`, false},
	{"piped", `{{.Code | printf "%s"}}`, false},
	{"parenthesized", `{{(.Code)}}`, false},
	{"slice", `{{slice .Code 0 3}} {{.Code}}`, false},
	{"len", `{{len .Code}} {{.Code}}`, false},
	{"condition", `{{if .Code}}{{.Code}}{{end}}`, false},
	{"dollar field", `{{$.Code}}`, false},
	{"dollar", `{{with $}}{{.Code}}{{end}}`, false},
	{"in range", `{{.Code}}{{range .Minutes}}{{$.Code}}{{end}}`, false},
	{"variable", `{{$a := .AppName}}{{.Code}}{{$a}}`, false},
	{"dot printed", `{{printf "%v" .}}`, false},
	{"dot in with", `{{with .AppName}}{{.}}: {{end}}{{.Code}}`, false},
	{"template", `{{define "c"}}{{.Code}}{{end}}{{template "c" .}}`, false},
	{"block", `{{block "c" .}}{{.Code}}{{end}}`, false},
}

func customTemplates(t *testing.T) *Templates {
	t.Helper()
	code := map[string]map[string]string{}
	for _, c := range customCode {
		code[c.name] = map[string]string{"": c.text}
	}
	ts, err := NewLocalizedTemplates(TemplateConfig{Code: code})
	require.NoError(t, err)
	return ts
}

func TestPrintsCodeOnly(t *testing.T) {
	ts := customTemplates(t)
	for _, c := range customCode {
		p := ts.code.byName[c.name].neutral
		assert.Equal(t, c.cacheable, printsCodeOnly(p), c.name)
		assert.Equal(t, c.cacheable, ts.codes.plain[p], c.name)
	}
	// A function that reads something besides its arguments is not cached.
	p := template.Must(template.New("now").Funcs(template.FuncMap{"now": func() string { return "" }}).Parse(`{{.Code}} {{now}}`))
	assert.False(t, printsCodeOnly(p))
	assert.True(t, builtin.codes.plain[builtin.code.builtin.neutral], "DefaultTemplate")
}
