package sms

import (
	"errors"
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

// ErrBadTemplate is wrapped by NewTemplates' errors: a template that does
// not parse, uses a field TemplateData lacks, leaves out {{.Code}}, or a
// default name that is not among the templates.
var ErrBadTemplate = errors.New("sms: bad template")

// sampleData is what NewTemplates renders each template with to find
// mistakes at configuration time rather than at the first send.
var sampleData = TemplateData{Code: "908172", Minutes: 5, AppName: "App", Domain: "example.com"}

// NewTemplates parses named templates; defaultName (which must be one of them,
// or empty for DefaultTemplate) is used when a request names none or names one
// that does not exist. Each template is tried once with sample data, so a
// misspelt field or a template without the code fails here, with
// ErrBadTemplate, and not when a user asks for a code.
func NewTemplates(defaultName string, named map[string]string) (*Templates, error) {
	t := &Templates{byName: make(map[string]*template.Template, len(named)), defaultName: defaultName, fallback: defaultParsed}
	for name, text := range named {
		p, err := template.New(name).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrBadTemplate, name, err)
		}
		var b strings.Builder
		if err := p.Execute(&b, sampleData); err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrBadTemplate, name, err)
		}
		if !strings.Contains(b.String(), sampleData.Code) {
			return nil, fmt.Errorf("%w %q: the message does not include {{.Code}}", ErrBadTemplate, name)
		}
		t.byName[name] = p
	}
	if defaultName != "" {
		p, ok := t.byName[defaultName]
		if !ok {
			return nil, fmt.Errorf("%w: default template %q is not among the named templates", ErrBadTemplate, defaultName)
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

// Rendered is a rendered message and what a caller may want to log about it.
type Rendered struct {
	// Body is the message text.
	Body string
	// Found reports whether the requested template name was known (Render's
	// found).
	Found bool
	// Segments is how many SMS segments Body takes, in Encoding (see
	// Segments). More than one costs more and may arrive out of order:
	// worth a warning in the logs.
	Segments int
	Encoding string
}

// MultiSegment reports whether the message needs more than one SMS segment.
func (r Rendered) MultiSegment() bool { return r.Segments > 1 }

// RenderInfo renders like Render and also counts the message's segments.
func (t *Templates) RenderInfo(name string, d TemplateData) (Rendered, error) {
	body, found, err := t.Render(name, d)
	if err != nil {
		return Rendered{Found: found}, err
	}
	n, enc := Segments(body)
	return Rendered{Body: body, Found: found, Segments: n, Encoding: enc}, nil
}
