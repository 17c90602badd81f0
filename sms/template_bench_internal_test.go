package sms

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkRenderCode is the per-request cost the handler pays (on known
// and unknown phones alike): parsing Accept-Language, matching, rendering.
// RenderCode is what the handler calls; uncached is the same work done the
// way RenderCode did it before bodies were cached (pick, then execute the
// template), the cold path; uncacheable is RenderCode with a template that
// passes the code to a function, which is always executed.
func BenchmarkRenderCode(b *testing.B) {
	ts, err := NewLocalizedTemplates(TemplateConfig{
		Language: "en",
		Code: map[string]map[string]string{
			"otp": {
				"en": `{{.Code}} is your {{.AppName}} code. It expires in {{plural .Minutes "one" "# minute" "other" "# minutes"}}.`,
				"hi": `{{.AppName}}: आपका कोड {{.Code}} है`,
				"de": `{{.Code}} ist Ihr Code`,
			},
			"printf": {"en": `{{printf "%s" .Code}} is your {{.AppName}} code. It expires in {{plural .Minutes "one" "# minute" "other" "# minutes"}}.`},
		},
		DefaultCode: "otp",
	})
	require.NoError(b, err)
	const header = "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"
	d := TemplateData{Code: "123456", Minutes: 5, AppName: "Acme", Domain: "example.com"}
	b.Run("RenderCode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ts.RenderCode("otp", header, d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, tag, found := ts.code.pick("otp", accept(header))
			if _, err := render(p, tag, found, d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncacheable", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ts.RenderCode("printf", header, d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
