package sms

import (
	"slices"
	"strings"
	"sync"
	"text/template"
)

// codeCache holds code templates' bodies with the code left out. RenderCode
// runs on every send, and executing a text/template (its tree walk,
// reflection, the plural function) was about a sixth of a send's handler
// CPU. A tenant sends the same text over and over with only the code
// changing, so for a template that prints the code only as {{.Code}} the
// body is rendered once per (template, Minutes, AppName, Domain) and later
// sends splice the code into the stored pieces. Any other template is
// executed as before.
type codeCache struct {
	// plain holds the code templates that reach the code only through
	// plain {{.Code}} actions (printsCodeOnly). Written by
	// NewLocalizedTemplates, read-only afterwards.
	plain map[*template.Template]bool

	mu sync.RWMutex
	// parts are a body split where the code goes; nil: this key is not
	// cacheable (the template fails, or its text holds a sentinel), so it
	// is executed each time without trying again.
	parts map[codeKey][]string
}

// maxCachedBodies bounds a Templates' cache: the keys come from tenant
// settings (AppName, Domain, Minutes), a handful per template in practice,
// but nothing stops a host from passing a new AppName on every send. Past
// the bound new keys are rendered without being stored, as before the cache
// existed; an entry costs about the body and the key's strings.
const maxCachedBodies = 4096

type codeKey struct {
	tmpl            *template.Template
	minutes         int
	appName, domain string
}

func newCodeCache() *codeCache {
	return &codeCache{plain: map[*template.Template]bool{}, parts: map[codeKey][]string{}}
}

// add decides once, for each code text of l, whether it may be cached.
func (c *codeCache) add(l *localized) {
	for _, p := range append(slices.Clip(l.tmpls), l.neutral) {
		if p != nil {
			c.plain[p] = printsCodeOnly(p)
		}
	}
}

// body is p's body for d; ok is false when p or d's key is not cached and
// the caller must execute p.
func (c *codeCache) body(p *template.Template, d TemplateData) (body string, ok bool) {
	if !c.plain[p] {
		return "", false
	}
	k := codeKey{tmpl: p, minutes: d.Minutes, appName: d.AppName, domain: d.Domain}
	c.mu.RLock()
	parts, hit := c.parts[k]
	full := len(c.parts) >= maxCachedBodies
	c.mu.RUnlock()
	if !hit {
		if full {
			return "", false
		}
		parts = splitOnCode(p, d)
		c.mu.Lock()
		if len(c.parts) < maxCachedBodies {
			c.parts[k] = parts
		}
		c.mu.Unlock()
	}
	if parts == nil {
		return "", false
	}
	return strings.Join(parts, d.Code), true
}

// The sentinels stand in for the code when a body is split. Each holds one
// NUL byte, its first, so two occurrences of one cannot overlap and
// strings.Split cuts at every occurrence. They have the same length.
const (
	sentinelA = "\x00otpreset code A"
	sentinelB = "\x00otpreset code B"
)

// splitOnCode renders p with sentinelA for the code and cuts the body where
// it occurs, or returns nil. printsCodeOnly makes the body the same pieces
// whatever the code, joined by it; the cut is right unless a piece itself
// holds sentinelA (an AppName or a literal that does): then rendering with
// sentinelB keeps that sentinelA where joining the cut pieces with
// sentinelB does not, so the two differ and nothing is cached.
func splitOnCode(p *template.Template, d TemplateData) []string {
	d.Code = sentinelA
	a, err := execute(p, d)
	if err != nil {
		return nil
	}
	parts := strings.Split(a, sentinelA)
	d.Code = sentinelB
	if b, err := execute(p, d); err != nil || b != strings.Join(parts, sentinelB) {
		return nil
	}
	return parts
}

func execute(p *template.Template, d any) (string, error) {
	var b strings.Builder
	err := p.Execute(&b, d)
	return b.String(), err
}
