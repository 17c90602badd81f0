package sms

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"text/template"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// uncached is RenderCode without the cache: the template executed.
func uncached(t *Templates, name, acceptLanguage string, d TemplateData) (Rendered, error) {
	if t == nil {
		t = builtin
	}
	p, tag, found := t.code.pick(name, accept(acceptLanguage))
	return render(p, tag, found, d)
}

// renderCases is every combination of a few codes (one with characters
// that change the encoding), minutes, app names (one holding a sentinel, one
// long enough for two segments) and domains.
func renderCases() []TemplateData {
	var ds []TemplateData
	for _, code := range []string{"123456", "000000", "98765432", "ab€{}", "डेढ़"} {
		for _, minutes := range []int{0, 1, 5, 21} {
			for _, app := range []string{"", "Acme", "Ünïcode Ltd", strings.Repeat("Long App ", 18), sentinelA, "x" + sentinelB} {
				for _, domain := range []string{"", "example.com"} {
					ds = append(ds, TemplateData{Code: code, Minutes: minutes, AppName: app, Domain: domain})
				}
			}
		}
	}
	return ds
}

func TestRenderCodeCachedEqualsExecuted(t *testing.T) {
	localizedTs, err := NewLocalizedTemplates(TemplateConfig{
		Language: "hi",
		Code: map[string]map[string]string{"otp": {
			"en": `{{.Code}}: {{plural .Minutes "one" "# minute" "other" "# minutes"}}, {{number .Minutes}}`,
			"ru": `{{.Code}}: {{plural .Minutes "one" "# минуту" "few" "# минуты" "many" "# минут" "other" "# минуты"}}, {{number .Minutes}}`,
			"de": `{{.Code}}: {{plural .Minutes "one" "# Minute" "other" "# Minuten"}}, {{number .Minutes}}`,
			"hi": `{{.AppName}}: आपका कोड {{.Code}} है ({{number .Minutes}})`,
		}},
		DefaultCode: "otp",
	})
	require.NoError(t, err)
	hindiBuiltin, err := NewLocalizedTemplates(TemplateConfig{Language: "hi"})
	require.NoError(t, err)
	custom := customTemplates(t)
	customNames := []string{"", "nope"}
	for _, c := range customCode {
		customNames = append(customNames, c.name)
	}
	sets := []struct {
		name string
		ts   *Templates
	}{{"nil", nil}, {"built-in, tenant in Hindi", hindiBuiltin}, {"localized", localizedTs}, {"custom", custom}}
	for _, set := range sets {
		names, accepts := []string{"otp", "", "nope"}, []string{"", "ru", "de-AT", "hi", "en-GB"}
		if set.ts == custom {
			names, accepts = customNames, []string{"", "hi"}
		}
		for _, name := range names {
			for _, al := range accepts {
				for _, d := range renderCases() {
					want, wantErr := uncached(set.ts, name, al, d)
					for hit := range 2 { // a miss, then a hit
						got, err := set.ts.RenderCode(name, al, d)
						where := fmt.Sprintf("%s %q %q %+v, call %d", set.name, name, al, d, hit)
						require.Equal(t, wantErr, err, where)
						require.Equal(t, want, got, where)
					}
				}
			}
		}
	}
	for _, set := range sets[1:] {
		assertCached(t, set.ts)
	}
	// Where the body holds sentinelA besides the code, nothing is split.
	for k, parts := range custom.codes.parts {
		if k.tmpl.Name() == "sentinel in the text" || k.tmpl.Name() == "twice" && k.appName == sentinelA {
			assert.Nil(t, parts, "%s %q", k.tmpl.Name(), k.appName)
		}
	}
}

// assertCached checks that ts stored bodies of its cacheable templates
// only, and no split body holding sentinelA (where an AppName or the text
// holds one, the body must not be split).
func assertCached(t *testing.T, ts *Templates) {
	t.Helper()
	stored := map[*template.Template]bool{}
	for k, parts := range ts.codes.parts {
		require.True(t, ts.codes.plain[k.tmpl], "%s: stored though not cacheable", k.tmpl.Name())
		for _, part := range parts {
			assert.NotContains(t, part, sentinelA, "%s %q", k.tmpl.Name(), k.appName)
		}
		if parts != nil {
			stored[k.tmpl] = true
		}
	}
	for p, plain := range ts.codes.plain {
		if plain && p.Name() != "sentinel in the text" && p.Name() != "default" {
			assert.True(t, stored[p], "%s: never cached", p.Name())
		}
	}
}

func TestCodeCacheBound(t *testing.T) {
	ts, err := NewLocalizedTemplates(TemplateConfig{Code: map[string]map[string]string{"otp": {"": "{{.Code}} for {{.AppName}}"}}})
	require.NoError(t, err)
	d := TemplateData{Code: "123456", Minutes: 5}
	for i := range maxCachedBodies + 100 {
		d.AppName = fmt.Sprint("app ", i)
		r, err := ts.RenderCode("otp", "", d)
		require.NoError(t, err)
		require.Equal(t, "123456 for "+d.AppName, r.Body)
	}
	assert.Len(t, ts.codes.parts, maxCachedBodies)
	d.AppName = fmt.Sprint("app ", maxCachedBodies+99)
	assert.NotContains(t, ts.codes.parts, codeKey{tmpl: ts.code.byName["otp"].neutral, minutes: 5, appName: d.AppName})
	d.AppName, d.Code = "app 0", "654321" // still served from the cache
	r, err := ts.RenderCode("otp", "", d)
	require.NoError(t, err)
	assert.Equal(t, "654321 for app 0", r.Body)
}

// TestCodeCacheConcurrently lets the race detector look at the cache while
// goroutines fill it and read it.
func TestCodeCacheConcurrently(t *testing.T) {
	ts := customTemplates(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				d := TemplateData{Code: fmt.Sprintf("%06d", g*1000+i), Minutes: i % 3, AppName: fmt.Sprint("app ", i%7), Domain: "example.com"}
				name := customCode[i%len(customCode)].name
				want, wantErr := uncached(ts, name, "", d)
				got, err := ts.RenderCode(name, "", d)
				assert.Equal(t, wantErr, err)
				assert.Equal(t, want, got)
			}
		})
	}
	wg.Wait()
}
