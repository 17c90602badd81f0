package sms

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"

	"golang.org/x/text/language"
)

// TemplateData are the fields an SMS template may use.
type TemplateData struct {
	Code    string // the one-time code
	Minutes int    // how long the code is valid, rounded up
	AppName string // the tenant's application name
	Domain  string // the tenant's web origin host, for the autofill line
}

// NoticeData are the fields a reset notification template may use. It has
// no code and no link on purpose: the notice goes out after the password
// was changed, to a phone that may be in an attacker's hands, and must
// give nothing that logs in.
type NoticeData struct {
	// AppName is the tenant's application name.
	AppName string
	// Time is when the password was changed; RenderNotice shows it in the
	// templates' Location (UTC by default).
	Time time.Time
	// Support is where the owner turns if the change was not theirs: a
	// phone number, an e-mail address or a help page (never a link that
	// logs in). Empty: the text says "contact support".
	Support string
}

// DefaultTemplate is the message used when a tenant sets none. When Domain is
// set it ends with the origin-bound one-time-code line ("@example.com
// #123456") that browsers (WebOTP) and phones use to autofill the code. It
// uses the plural function (see NewLocalizedTemplates), so it parses only
// through this package.
const DefaultTemplate = `{{if .AppName}}{{.AppName}}: {{end}}{{.Code}} is your password reset code. It expires in {{plural .Minutes "one" "# minute" "other" "# minutes"}}. Do not share it.{{if .Domain}}

@{{.Domain}} #{{.Code}}{{end}}`

// defaultNoticeTemplate is the reset notification used when a tenant sets
// none: when the password changed and what to do if it was not the owner.
const defaultNoticeTemplate = `{{if .AppName}}{{.AppName}}: {{end}}Your password was changed on {{.Time.Format "2 Jan 2006 at 15:04 MST"}}. If this was not you, contact {{if .Support}}{{.Support}}{{else}}support{{end}} at once.`

// ErrBadTemplate is wrapped by NewLocalizedTemplates' errors: a template that does not parse, uses a field its data lacks, a
// code template that leaves out {{.Code}}, a notice that names it (also
// ErrNoticeCode), a language tag that is not BCP 47, or a default name that
// is not among the templates.
var ErrBadTemplate = errors.New("sms: bad template")

// ErrNoticeCode is wrapped, with ErrBadTemplate, by NewLocalizedTemplates
// when a notification template uses {{.Code}}: a notice must never carry a
// code.
var ErrNoticeCode = errors.New("sms: a reset notification must not contain the code")

// TemplateConfig is a tenant's templates by name and language, for
// NewLocalizedTemplates. Each text is a Go text/template; a language key is
// a BCP 47 tag ("en", "hi", "pt-BR"), or "" for a text that serves any
// language.
type TemplateConfig struct {
	// Language is the tenant's default language (BCP 47), used when the
	// request's Accept-Language matches none of a template's languages.
	// Default "en".
	Language string
	// Code are the code templates, by name (the smstemplate parameter)
	// then language. Each must include {{.Code}}.
	Code map[string]map[string]string
	// DefaultCode names the code template used when a request names none,
	// names an unknown one, or names one with no text for the request's
	// language nor the default language. Empty: DefaultTemplate.
	DefaultCode string
	// Notice are the reset notification templates, by name (the
	// resetpasswordsmstemplate parameter) then language, with NoticeData.
	// None may use {{.Code}}.
	Notice map[string]map[string]string
	// DefaultNotice names the notice used as DefaultCode is for codes.
	// Empty: the built-in English notice, which tells when the password
	// was changed and to contact Support at once if it was not the owner.
	DefaultNotice string
	// Location is the time zone notices show NoticeData.Time in; UTC when
	// nil.
	Location *time.Location
}

// Templates is a tenant's set of SMS templates (Go text/template), by name
// and language: the code templates selected by the smstemplate parameter and
// the reset notices selected by resetpasswordsmstemplate. The language is
// the best match for the request's Accept-Language (of which only the
// first 256 bytes, and of them the first 16 entries, are read), then the
// tenant's default language, then a language-neutral text; failing those the
// tenant's default template is used the same way, and last the built-in
// English one. A nil *Templates renders the built-in texts (DefaultTemplate
// and the notice of TemplateConfig.DefaultNotice) for every name. It is safe
// for concurrent use.
type Templates struct {
	code, notice set
	lang         language.Tag
	loc          *time.Location
	codes        *codeCache // the code templates' bodies, for RenderCode
}

// set is one kind of template (codes or notices) by name.
type set struct {
	byName   map[string]*localized
	fallback *localized // the tenant's default name, or nil
	builtin  *localized
}

// localized is one template name's texts by language.
type localized struct {
	tags    []language.Tag // the specific languages, sorted
	tmpls   []*template.Template
	matcher language.Matcher   // nil when tags is empty
	def     int                // index in tags of the tenant's language; -1: none
	neutral *template.Template // the "" text, or nil
	lang    language.Tag       // what neutral is reported as (the tenant's language)
}

// pick returns the text for the first accepted language this name has (the
// matcher allows regional and script fallbacks, "en-GB" for "en"), else the
// tenant's language, else the neutral text.
func (l *localized) pick(accept []language.Tag) (*template.Template, language.Tag, bool) {
	if l.matcher != nil && len(accept) > 0 {
		if _, i, c := l.matcher.Match(accept...); c > language.No {
			return l.tmpls[i], l.tags[i], true
		}
	}
	if l.def >= 0 {
		return l.tmpls[l.def], l.tags[l.def], true
	}
	if l.neutral != nil {
		return l.neutral, l.lang, true
	}
	return nil, language.Und, false
}

// Sample data NewLocalizedTemplates renders each template with, so that a
// misspelt field fails at configuration time rather than at the first send.
// Several minute counts take each plural branch of the usual languages.
var (
	sampleData    = TemplateData{Code: "908172", Minutes: 5, AppName: "App", Domain: "example.com"}
	sampleMinutes = []int{1, 2, 5, 21}
	sampleNotice  = NoticeData{AppName: "App", Time: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), Support: "+15550100"}
)

// builtin are the templates of a nil *Templates and of a tenant that names
// no defaults.
var builtin = func() *Templates {
	t, err := NewLocalizedTemplates(TemplateConfig{})
	if err != nil {
		panic(err)
	}
	return t
}()

// NewLocalizedTemplates checks and parses a tenant's templates. Every text
// is parsed with missingkey=error and rendered with sample data; code
// templates must include {{.Code}} and notices must not use it. Errors wrap
// ErrBadTemplate and name the template and language.
//
// Besides text/template's built-ins, templates may call two functions that
// follow the template's language (the tenant's for a "" text):
//
//	{{plural .Minutes "one" "# minute" "other" "# minutes"}}
//	{{number .Minutes}}
//
// plural takes a number and pairs of a CLDR plural category (zero, one,
// two, few, many, other; "other" is required) and a text, picks the
// language's category for the number (Russian: 1 "one", 3 "few", 5 "many")
// and writes the number in place of '#'. number writes a number with the
// language's digits and grouping ("1,000"; Hindi "1,000", German "1.000").
func NewLocalizedTemplates(cfg TemplateConfig) (*Templates, error) {
	t := &Templates{lang: language.English, loc: cfg.Location}
	if cfg.Language != "" {
		tag, err := language.Parse(cfg.Language)
		if err != nil {
			return nil, fmt.Errorf("%w: default language %q: %w", ErrBadTemplate, cfg.Language, err)
		}
		t.lang = tag
	}
	if t.loc == nil {
		t.loc = time.UTC
	}
	var err error
	// The built-in texts are English whatever the tenant's language.
	t.code.builtin, err = parseLocalized("default", map[string]string{"": DefaultTemplate}, language.English, checkCode)
	if err != nil {
		return nil, err
	}
	t.notice.builtin, err = parseLocalized("default notice", map[string]string{"": defaultNoticeTemplate}, language.English, checkNotice)
	if err != nil {
		return nil, err
	}
	if err := t.code.fill(t, cfg.Code, cfg.DefaultCode, checkCode); err != nil {
		return nil, err
	}
	t.codes = newCodeCache()
	t.codes.add(t.code.builtin)
	for _, l := range t.code.byName {
		t.codes.add(l)
	}
	if err := t.notice.fill(t, cfg.Notice, cfg.DefaultNotice, checkNotice); err != nil {
		return nil, fmt.Errorf("notice: %w", err)
	}
	return t, nil
}

// fill parses a set's named templates and finds its default.
func (s *set) fill(t *Templates, named map[string]map[string]string, defaultName string, check func(name, lang string, p *template.Template) error) error {
	s.byName = make(map[string]*localized, len(named))
	for name, texts := range named {
		l, err := parseLocalized(name, texts, t.lang, check)
		if err != nil {
			return err
		}
		s.byName[name] = l
	}
	if defaultName != "" {
		l, ok := s.byName[defaultName]
		if !ok {
			return fmt.Errorf("%w: default template %q is not among the named templates", ErrBadTemplate, defaultName)
		}
		s.fallback = l
	}
	return nil
}

// parseLocalized parses one name's texts, each with the functions of its language;
// a language-neutral text is taken to be in lang, the tenant's language.
func parseLocalized(name string, texts map[string]string, lang language.Tag, check func(name, lang string, p *template.Template) error) (*localized, error) {
	if len(texts) == 0 {
		return nil, fmt.Errorf("%w %q: no texts", ErrBadTemplate, name)
	}
	l := &localized{def: -1, lang: lang}
	keys := make([]string, 0, len(texts))
	for k := range texts {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the matcher's order, so a tie always picks the same text
	for _, key := range keys {
		tag := language.Und
		if key != "" {
			var err error
			if tag, err = language.Parse(key); err != nil {
				return nil, fmt.Errorf("%w %q: language %q: %w", ErrBadTemplate, name, key, err)
			}
		}
		funcsTag := tag
		if tag == language.Und {
			funcsTag = lang
		}
		p, err := template.New(name).Option("missingkey=error").Funcs(funcs(funcsTag)).Parse(texts[key])
		if err != nil {
			return nil, fmt.Errorf("%w %q (%s): %w", ErrBadTemplate, name, langName(key), err)
		}
		if err := check(name, langName(key), p); err != nil {
			return nil, err
		}
		if tag == language.Und {
			if l.neutral != nil {
				return nil, fmt.Errorf("%w %q: two language-neutral texts (%q and another)", ErrBadTemplate, name, key)
			}
			l.neutral = p
			continue
		}
		if slices.Contains(l.tags, tag) {
			return nil, fmt.Errorf("%w %q: language %s given twice", ErrBadTemplate, name, tag)
		}
		l.tags = append(l.tags, tag)
		l.tmpls = append(l.tmpls, p)
	}
	if len(l.tags) > 0 {
		l.matcher = language.NewMatcher(l.tags)
		if _, i, c := l.matcher.Match(lang); c > language.No {
			l.def = i
		}
	}
	return l, nil
}

func langName(key string) string {
	if key == "" {
		return "any language"
	}
	return key
}

// checkCode renders a code template with sample data: it must run and
// include the code.
func checkCode(name, lang string, p *template.Template) error {
	for _, minutes := range sampleMinutes {
		d := sampleData
		d.Minutes = minutes
		var b strings.Builder
		if err := p.Execute(&b, d); err != nil {
			return fmt.Errorf("%w %q (%s): %w", ErrBadTemplate, name, lang, err)
		}
		if !strings.Contains(b.String(), sampleData.Code) {
			return fmt.Errorf("%w %q (%s): the message does not include {{.Code}}", ErrBadTemplate, name, lang)
		}
	}
	return nil
}

// checkNotice refuses a notice that names the code anywhere (even in a
// branch the sample does not take), then renders it with sample data.
func checkNotice(name, lang string, p *template.Template) error {
	if usesField(p, "Code") {
		return fmt.Errorf("%w %q (%s): %w", ErrBadTemplate, name, lang, ErrNoticeCode)
	}
	for _, support := range []string{"", sampleNotice.Support} {
		d := sampleNotice
		d.Support = support
		if err := p.Execute(&strings.Builder{}, d); err != nil {
			return fmt.Errorf("%w %q (%s): %w", ErrBadTemplate, name, lang, err)
		}
	}
	return nil
}

// The bounds of a client's Accept-Language header: only its first
// maxAcceptBytes bytes are read, and of them only the first maxAcceptEntries
// comma-separated entries, whatever they hold (an empty entry, one that does
// not parse and one with q=0 count like any other). Parsing a header then
// costs the same whatever its length or shape.
const (
	maxAcceptBytes   = 256
	maxAcceptEntries = 16
)

// acceptEntries is the part of an Accept-Language value that accept reads:
// at most maxAcceptEntries entries from its first maxAcceptBytes bytes. An
// entry cut by the byte bound is dropped, not read in part ("de-CH" cut to
// "de", or "q=0.25" to "q=0.2", would be another entry).
func acceptEntries(header string) []string {
	if len(header) > maxAcceptBytes {
		cut := strings.LastIndexByte(header[:maxAcceptBytes+1], ',')
		if cut < 0 {
			return nil
		}
		header = header[:cut]
	}
	entries := make([]string, 0, maxAcceptEntries)
	for entry := range strings.SplitSeq(header, ",") {
		if len(entries) == maxAcceptEntries {
			break
		}
		entries = append(entries, entry)
	}
	return entries
}

// accept is the languages of an Accept-Language value, best first, read to
// the bounds above (the header comes from the client); entries that do not
// parse are skipped rather than spoiling the rest, and q=0 entries are
// dropped.
func accept(header string) []language.Tag {
	if header == "" {
		return nil
	}
	type weighted struct {
		tag language.Tag
		q   float32
	}
	var ws []weighted
	for _, entry := range acceptEntries(header) {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		tags, qs, err := language.ParseAcceptLanguage(entry)
		if err != nil || len(tags) != 1 || qs[0] <= 0 {
			continue
		}
		ws = append(ws, weighted{tags[0], qs[0]})
	}
	slices.SortStableFunc(ws, func(a, b weighted) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	tags := make([]language.Tag, len(ws))
	for i, w := range ws {
		tags[i] = w.tag
	}
	return tags
}

// pick chooses a text: the requested name's, then the tenant default's,
// then the built-in's. found reports whether name was known (or empty).
func (s *set) pick(name string, langs []language.Tag) (tmpl *template.Template, tag language.Tag, found bool) {
	found = name == ""
	if l, ok := s.byName[name]; ok && name != "" {
		found = true
		if p, tag, ok := l.pick(langs); ok {
			return p, tag, true
		}
	}
	if s.fallback != nil {
		if p, tag, ok := s.fallback.pick(langs); ok {
			return p, tag, found
		}
	}
	p, tag, _ := s.builtin.pick(langs) // a "" text: always there
	return p, tag, found
}

// Rendered is a rendered message and what a caller may want to log about it.
type Rendered struct {
	// Body is the message text.
	Body string
	// Found reports whether the requested template name was known (empty
	// counts as known), so that the caller can log a request for a template
	// that does not exist.
	Found bool
	// Language is the BCP 47 tag of the text used (for a language-neutral
	// text, the tenant's default language).
	Language string
	// Segments is how many SMS segments Body takes, in Encoding: "GSM-7"
	// when every character is in the GSM 03.38 alphabet (160 characters
	// alone, 153 a part; the extension characters such as € [ ] { } count
	// twice), else "UCS-2" (70 alone, 67 a part; a character outside the
	// Basic Multilingual Plane, such as an emoji, counts twice). More than
	// one segment costs more and may arrive out of order: worth a warning in
	// the logs.
	Segments int
	Encoding string
}

// MultiSegment reports whether the message needs more than one SMS segment.
func (r Rendered) MultiSegment() bool { return r.Segments > 1 }

// RenderCode renders the code template called name (the smstemplate
// parameter; empty or unknown: the tenant default) in the language that
// best matches acceptLanguage (the request's Accept-Language header, as
// sent; empty: the tenant's default language). See Templates for the order
// of choice.
func (t *Templates) RenderCode(name, acceptLanguage string, d TemplateData) (Rendered, error) {
	if t == nil {
		t = builtin
	}
	p, tag, found := t.code.pick(name, accept(acceptLanguage))
	if body, ok := t.codes.body(p, d); ok {
		return rendered(body, tag, found), nil
	}
	return render(p, tag, found, d)
}

// RenderNotice renders the reset notification called name (the
// resetpasswordsmstemplate parameter; empty or unknown: the tenant
// default) in the language that best matches acceptLanguage, as RenderCode
// does. d.Time is shown in the templates' Location. The body never holds a
// code: NoticeData has none and NewLocalizedTemplates refuses a notice that
// asks for one.
func (t *Templates) RenderNotice(name, acceptLanguage string, d NoticeData) (Rendered, error) {
	if t == nil {
		t = builtin
	}
	p, tag, found := t.notice.pick(name, accept(acceptLanguage))
	d.Time = d.Time.In(t.loc)
	return render(p, tag, found, d)
}

func render(p *template.Template, tag language.Tag, found bool, d any) (Rendered, error) {
	body, err := execute(p, d)
	if err != nil {
		return Rendered{Found: found}, fmt.Errorf("sms: render template: %w", err)
	}
	return rendered(body, tag, found), nil
}

func rendered(body string, tag language.Tag, found bool) Rendered {
	n, enc := segments(body)
	return Rendered{Body: body, Found: found, Language: tag.String(), Segments: n, Encoding: enc}
}
