package sms

import (
	"fmt"
	"strings"
	"text/template"
)

// TemplateData are the fields an SMS template may use.
type TemplateData struct {
	Code    string // the one-time code
	Minutes int    // how long the code is valid, rounded up
	AppName string // the tenant's application name
	Domain  string // the tenant's web origin host, for the autofill line
}

// DefaultTemplate is the message used when a tenant sets none. When Domain is
// set it ends with the origin-bound one-time-code line ("@example.com
// #123456") that browsers (WebOTP) and phones use to autofill the code.
const DefaultTemplate = `{{if .AppName}}{{.AppName}}: {{end}}{{.Code}} is your password reset code. It expires in {{.Minutes}} minutes. Do not share it.{{if .Domain}}

@{{.Domain}} #{{.Code}}{{end}}`

// Templates is a tenant's set of named SMS templates (Go text/template),
// selected by the smstemplate parameter. The zero value renders
// DefaultTemplate for every name.
type Templates struct {
	byName      map[string]*template.Template
	defaultName string
	fallback    *template.Template
}

var defaultParsed = template.Must(template.New("default").Parse(DefaultTemplate))

// NewTemplates parses named templates; defaultName (which must be one of them,
// or empty for DefaultTemplate) is used when a request names none or names one
// that does not exist.
func NewTemplates(defaultName string, named map[string]string) (*Templates, error) {
	t := &Templates{byName: make(map[string]*template.Template, len(named)), defaultName: defaultName, fallback: defaultParsed}
	for name, text := range named {
		p, err := template.New(name).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("sms: template %q: %w", name, err)
		}
		t.byName[name] = p
	}
	if defaultName != "" {
		p, ok := t.byName[defaultName]
		if !ok {
			return nil, fmt.Errorf("sms: default template %q is not among the named templates", defaultName)
		}
		t.fallback = p
	}
	return t, nil
}

// Render renders the template called name (the tenant default when name is
// empty or unknown). found reports whether name was known, so the caller can
// log a request for a template that does not exist.
func (t *Templates) Render(name string, d TemplateData) (body string, found bool, err error) {
	tmpl := defaultParsed
	found = name == ""
	if t != nil {
		tmpl = t.fallback
		if p, ok := t.byName[name]; ok && name != "" {
			tmpl, found = p, true
		}
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, d); err != nil {
		return "", found, fmt.Errorf("sms: render template: %w", err)
	}
	return b.String(), found, nil
}
