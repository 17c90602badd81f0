package sms_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/sms"
)

func localized(t *testing.T) *sms.Templates {
	t.Helper()
	ts, err := sms.NewLocalizedTemplates(sms.TemplateConfig{
		Language: "hi",
		Code: map[string]map[string]string{
			"otp": {
				"en":    "{{.Code}} is your code",
				"hi":    "आपका कोड {{.Code}} है",
				"pt-BR": "Seu código é {{.Code}}",
			},
			"short":  {"": "code {{.Code}}"},
			"german": {"de": "Ihr Code: {{.Code}}"},
		},
		DefaultCode: "otp",
	})
	require.NoError(t, err)
	return ts
}

func TestRenderCodeLanguage(t *testing.T) {
	ts := localized(t)
	tests := []struct {
		name, template, accept string
		body, lang             string
		found                  bool
	}{
		{"exact", "otp", "hi", "आपका कोड 123456 है", "hi", true},
		{"regional falls back to language", "otp", "en-GB,en;q=0.9", "123456 is your code", "en", true},
		{"q values order the choice", "otp", "fr;q=0.9, en;q=0.1, hi;q=0.5", "आपका कोड 123456 है", "hi", true},
		{"language alone matches its usual region", "otp", "pt", "Seu código é 123456", "pt-BR", true},
		{"no match: tenant default language", "otp", "fr-FR, fr;q=0.9", "आपका कोड 123456 है", "hi", true},
		{"no header: tenant default language", "otp", "", "आपका कोड 123456 है", "hi", true},
		{"unparsable entry skipped, not the rest", "otp", "!!!, en", "123456 is your code", "en", true},
		{"q=0 means not acceptable", "otp", "en;q=0", "आपका कोड 123456 है", "hi", true},
		{"language-neutral text for any language", "short", "en", "code 123456", "hi", true},
		{"unknown name: tenant default template", "nope", "en", "123456 is your code", "en", false},
		{"known name without the language: default template", "german", "en", "123456 is your code", "en", true},
		{"known name, its language", "german", "de-AT", "Ihr Code: 123456", "de", true},
		{"empty name: tenant default template", "", "pt-BR", "Seu código é 123456", "pt-BR", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ts.RenderCode(tt.template, tt.accept, data)
			require.NoError(t, err)
			assert.Equal(t, tt.body, r.Body)
			assert.Equal(t, tt.lang, r.Language)
			assert.Equal(t, tt.found, r.Found)
		})
	}
}

func TestRenderCodeReadsFewAcceptEntries(t *testing.T) {
	ts, err := sms.NewLocalizedTemplates(sms.TemplateConfig{
		Code:        map[string]map[string]string{"otp": {"en": "{{.Code}}", "hi": "कोड {{.Code}}"}},
		DefaultCode: "otp",
	})
	require.NoError(t, err)
	// "hi" comes after 16 entries: a client's header is read only so far.
	header := strings.Repeat("fr;q=0.9,", 16) + "hi"
	r, err := ts.RenderCode("otp", header, data)
	require.NoError(t, err)
	assert.Equal(t, "en", r.Language)
	r, err = ts.RenderCode("otp", strings.Repeat("fr;q=0.9,", 15)+"hi", data)
	require.NoError(t, err)
	assert.Equal(t, "hi", r.Language)

	// Entries count whatever they hold: empty, unparsable or q=0.
	for _, filler := range []string{",", "!!!,", "1,", "de;q=0,"} {
		r, err = ts.RenderCode("otp", strings.Repeat(filler, 16)+"hi", data)
		require.NoError(t, err)
		assert.Equal(t, "en", r.Language, "%q: the 17th entry is not read", filler)
		r, err = ts.RenderCode("otp", strings.Repeat(filler, 15)+"hi", data)
		require.NoError(t, err)
		assert.Equal(t, "hi", r.Language, "%q: the 16th entry is read", filler)
	}
	// Only the first 256 bytes are read, and an entry they cut is dropped.
	r, err = ts.RenderCode("otp", strings.Repeat(" ", 251)+"fr,hi", data)
	require.NoError(t, err)
	assert.Equal(t, "hi", r.Language)
	r, err = ts.RenderCode("otp", strings.Repeat(" ", 252)+"fr,hi", data)
	require.NoError(t, err)
	assert.Equal(t, "en", r.Language)
}

func TestBuiltinTemplateIsEnglishWhateverTheTenantLanguage(t *testing.T) {
	ts, err := sms.NewLocalizedTemplates(sms.TemplateConfig{Language: "hi"})
	require.NoError(t, err)
	r, err := ts.RenderCode("", "hi", data)
	require.NoError(t, err)
	assert.Equal(t, "en", r.Language)
	assert.True(t, strings.HasPrefix(r.Body, "Acme: 123456 is your password reset code."), r.Body)
}

func TestPluralAndNumber(t *testing.T) {
	ts, err := sms.NewLocalizedTemplates(sms.TemplateConfig{
		Code: map[string]map[string]string{"otp": {
			"en": `{{.Code}}: {{plural .Minutes "one" "# minute" "other" "# minutes"}}, {{number .Minutes}}`,
			"ru": `{{.Code}}: {{plural .Minutes "one" "# минуту" "few" "# минуты" "many" "# минут" "other" "# минуты"}}, {{number .Minutes}}`,
			"de": `{{.Code}}: {{plural .Minutes "one" "# Minute" "other" "# Minuten"}}, {{number .Minutes}}`,
		}},
	})
	require.NoError(t, err)
	tests := []struct {
		lang    string
		minutes int
		want    string
	}{
		{"en", 1, "123456: 1 minute, 1"},
		{"en", 5, "123456: 5 minutes, 5"},
		{"en", 1000, "123456: 1,000 minutes, 1,000"},
		{"ru", 1, "123456: 1 минуту, 1"},
		{"ru", 3, "123456: 3 минуты, 3"},
		{"ru", 5, "123456: 5 минут, 5"},
		{"ru", 21, "123456: 21 минуту, 21"},
		{"de", 1, "123456: 1 Minute, 1"},
		{"de", 1000, "123456: 1.000 Minuten, 1.000"},
	}
	for _, tt := range tests {
		d := data
		d.Minutes = tt.minutes
		r, err := ts.RenderCode("otp", tt.lang, d)
		require.NoError(t, err)
		assert.Equal(t, tt.want, r.Body, "%s %d", tt.lang, tt.minutes)
	}

	// The built-in text says "1 minute", not "1 minutes".
	d := data
	d.Minutes, d.Domain = 1, ""
	one, err := (*sms.Templates)(nil).RenderCode("", "", d)
	require.NoError(t, err)
	assert.Equal(t, "Acme: 123456 is your password reset code. It expires in 1 minute. Do not share it.", one.Body)
}

func TestNewLocalizedTemplatesRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  sms.TemplateConfig
		want string
		is   error
	}{
		{"language not BCP 47", sms.TemplateConfig{Code: map[string]map[string]string{"a": {"en_US!": "{{.Code}}"}}}, `"en_US!"`, nil},
		{"tenant language not BCP 47", sms.TemplateConfig{Language: "english!"}, `"english!"`, nil},
		{"one language without the code", sms.TemplateConfig{Code: map[string]map[string]string{"a": {"en": "{{.Code}}", "hi": "कोड"}}}, `"a" (hi)`, nil},
		{"name with no texts", sms.TemplateConfig{Code: map[string]map[string]string{"a": {}}}, "no texts", nil},
		{"two language-neutral texts", sms.TemplateConfig{Code: map[string]map[string]string{"a": {"": "{{.Code}}", "und": "{{.Code}}!"}}}, "language-neutral", nil},
		{"plural without other", sms.TemplateConfig{Code: map[string]map[string]string{"a": {"en": `{{.Code}} {{plural .Minutes "one" "a minute"}}`}}}, `"other"`, nil},
		{"plural unknown category", sms.TemplateConfig{Code: map[string]map[string]string{"a": {"en": `{{.Code}} {{plural .Minutes "single" "a" "other" "b"}}`}}}, `"single"`, nil},
		{"plural odd arguments", sms.TemplateConfig{Code: map[string]map[string]string{"a": {"en": `{{.Code}} {{plural .Minutes "one"}}`}}}, "pairs", nil},
		{"field misspelt in a branch the default sample skips", sms.TemplateConfig{Code: map[string]map[string]string{"a": {"en": `{{.Code}}{{if eq .Minutes 1}}{{.Minute}}{{end}}`}}}, "Minute", nil},
		{"notice with the code", sms.TemplateConfig{Notice: map[string]map[string]string{"n": {"en": "Changed. {{.Code}}"}}}, `"n" (en)`, sms.ErrNoticeCode},
		{"notice with the code in a branch never taken", sms.TemplateConfig{Notice: map[string]map[string]string{"n": {"": "Changed.{{if false}}{{$.Code}}{{end}}"}}}, `"n"`, sms.ErrNoticeCode},
		{"notice with an unknown field", sms.TemplateConfig{Notice: map[string]map[string]string{"n": {"en": "Changed at {{.When}}"}}}, "When", nil},
		{"default notice not among them", sms.TemplateConfig{DefaultNotice: "n"}, `"n"`, nil},
		{"default code not among them", sms.TemplateConfig{DefaultCode: "c", Notice: map[string]map[string]string{"c": {"": "Changed."}}}, `"c"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sms.NewLocalizedTemplates(tt.cfg)
			require.ErrorIs(t, err, sms.ErrBadTemplate)
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

var resetAt = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestRenderNotice(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	ts, err := sms.NewLocalizedTemplates(sms.TemplateConfig{
		Language: "en",
		Notice: map[string]map[string]string{
			"changed": {
				"en": `{{.AppName}}: password changed {{.Time.Format "02/01 15:04"}}. Not you? Call {{.Support}}.`,
				"hi": `{{.AppName}}: पासवर्ड {{.Time.Format "02/01 15:04"}} पर बदला गया। आप नहीं थे? {{.Support}} पर कॉल करें।`,
			},
		},
		DefaultNotice: "changed",
		Location:      ist,
	})
	require.NoError(t, err)
	nd := sms.NoticeData{AppName: "Acme", Time: resetAt, Support: "+1 555 0100"}

	tests := []struct {
		name, template, accept string
		templates              *sms.Templates
		body, lang             string
		found                  bool
	}{
		{"tenant notice, request language", "changed", "hi-IN", ts, "Acme: पासवर्ड 24/11 17:30 पर बदला गया। आप नहीं थे? +1 555 0100 पर कॉल करें।", "hi", true},
		{"tenant notice, default language", "", "fr", ts, "Acme: password changed 24/11 17:30. Not you? Call +1 555 0100.", "en", true},
		{"unknown name", "nope", "en", ts, "Acme: password changed 24/11 17:30. Not you? Call +1 555 0100.", "en", false},
		{"nil templates: built-in notice in UTC", "", "hi", nil, "Acme: Your password was changed on 24 Nov 2026 at 12:00 UTC. If this was not you, contact +1 555 0100 at once.", "en", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.templates.RenderNotice(tt.template, tt.accept, nd)
			require.NoError(t, err)
			assert.Equal(t, tt.body, r.Body)
			assert.Equal(t, tt.lang, r.Language)
			assert.Equal(t, tt.found, r.Found)
		})
	}

	// Templates with code texts only notify with the built-in text.
	codes, err := codeTemplates("", map[string]string{"short": "{{.Code}}"})
	require.NoError(t, err)
	r, err := codes.RenderNotice("whatever", "", sms.NoticeData{Time: resetAt})
	require.NoError(t, err)
	assert.Equal(t, "Your password was changed on 24 Nov 2026 at 12:00 UTC. If this was not you, contact support at once.", r.Body)
	assert.False(t, r.Found)
	assert.Equal(t, 1, r.Segments)
}

// TestRenderConcurrently lets the race detector look at the per-language
// printers the template functions share.
func TestRenderConcurrently(t *testing.T) {
	ts, err := sms.NewLocalizedTemplates(sms.TemplateConfig{
		Code: map[string]map[string]string{"otp": {"de": `{{.Code}} {{number .Minutes}} {{plural .Minutes "one" "# Minute" "other" "# Minuten"}}`}},
	})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			d := data
			d.Minutes = 1000 + i
			r, err := ts.RenderCode("otp", "de", d)
			assert.NoError(t, err)
			assert.Contains(t, r.Body, "1.00")
		})
	}
	wg.Wait()
}
