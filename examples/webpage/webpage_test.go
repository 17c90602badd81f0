package webpage_test

import (
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/examples/webpage"
	"github.com/otpreset/go/otpreset"
)

// get serves one request and returns the answer.
func get(t *testing.T, h http.Handler, method, path string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// metaContent returns the unescaped content of <meta name="name">, and
// whether the tag is there.
func metaContent(t *testing.T, page, name string) (string, bool) {
	t.Helper()
	re := regexp.MustCompile(`<meta name="` + regexp.QuoteMeta(name) + `" content="([^"]*)">`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1]), true
}

// directive returns the sources of one CSP directive ("" when absent).
func directive(csp, name string) string {
	for _, d := range strings.Split(csp, ";") {
		d = strings.TrimSpace(d)
		if rest, ok := strings.CutPrefix(d, name+" "); ok {
			return rest
		}
		if d == name {
			return ""
		}
	}
	return ""
}

func TestIndexEscapesTheAPIKey(t *testing.T) {
	tests := []struct{ name, key string }{
		{"plain", "demo-api-key"},
		{"quotes and tags", `k"><script>alert(1)</script>`},
		{"ampersand and apostrophe", `a&b'c`},
		{"unicode", "clé-ключ-鍵"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := webpage.Handler(webpage.Config{APIKey: tt.key})
			rec := get(t, h, http.MethodGet, "/", nil)
			require.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
			page := rec.Body.String()

			got, ok := metaContent(t, page, "otpreset-apikey")
			require.True(t, ok, "meta otpreset-apikey missing in:\n%s", page)
			assert.Equal(t, tt.key, got, "the key must survive escaping unchanged")
			assert.NotContains(t, page, "<script>alert", "the key must not break out of the attribute")
			assert.Equal(t, 1, strings.Count(page, "<script"), "only the page's own script tag")

			endpoint, ok := metaContent(t, page, "otpreset-endpoint")
			require.True(t, ok)
			assert.Equal(t, otpreset.Path, endpoint)
			_, ok = metaContent(t, page, "otpreset-captcha-provider")
			assert.False(t, ok, "captcha is off by default")
		})
	}
}

func TestIndexHasNoInlineScriptOrStyle(t *testing.T) {
	h := webpage.Handler(webpage.Config{APIKey: "k", Captcha: webpage.Captcha{Provider: webpage.ProviderHCaptcha, SiteKey: "site"}})
	page := get(t, h, http.MethodGet, "/", nil).Body.String()
	// Every <script> has a src and no body; no <style> element or attribute;
	// no inline event handler. Otherwise the CSP would block it.
	scripts := regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(page, -1)
	require.Len(t, scripts, 1)
	assert.Contains(t, scripts[0][1], `src="/app.js"`)
	assert.Empty(t, strings.TrimSpace(scripts[0][2]))
	assert.NotContains(t, page, "<style")
	assert.NotRegexp(t, `\sstyle=`, page)
	assert.NotRegexp(t, `\son[a-z]+=`, page)
}

func TestSecurityHeaders(t *testing.T) {
	h := webpage.Handler(webpage.Config{APIKey: "k"})
	rec := get(t, h, http.MethodGet, "/", nil)
	csp := rec.Header().Get("Content-Security-Policy")
	require.NotEmpty(t, csp)
	assert.NotContains(t, csp, "unsafe-inline")
	assert.NotContains(t, csp, "unsafe-eval")
	assert.Equal(t, "'none'", directive(csp, "default-src"))
	assert.Equal(t, "'self'", directive(csp, "script-src"))
	assert.Equal(t, "'self'", directive(csp, "style-src"))
	assert.Equal(t, "'self'", directive(csp, "connect-src"))
	assert.Equal(t, "'none'", directive(csp, "frame-ancestors"))
	assert.Equal(t, "'none'", directive(csp, "base-uri"))
	assert.NotContains(t, csp, "frame-src", "no frames without a captcha")
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
	assert.Equal(t, "no-referrer", rec.Header().Get("Referrer-Policy"))
	assert.Equal(t, "DENY", rec.Header().Get("X-Frame-Options"))
}

func TestCaptchaConfig(t *testing.T) {
	tests := []struct {
		name      string
		captcha   webpage.Captcha
		script    string // the script the page loads
		scriptSrc string // must be in script-src
		frameSrc  string // must be in frame-src ("" when none)
		action    string
	}{
		{"recaptcha v2", webpage.Captcha{Provider: webpage.ProviderRecaptcha, SiteKey: "6Lc"}, "https://www.google.com/recaptcha/api.js", "https://www.gstatic.com/recaptcha/", "https://www.google.com/recaptcha/", webpage.DefaultCaptchaAction},
		{"recaptcha v3 with action", webpage.Captcha{Provider: webpage.ProviderRecaptchaV3, SiteKey: "6Lc", Action: "reset"}, "https://www.google.com/recaptcha/api.js", "https://www.google.com/recaptcha/", "https://recaptcha.google.com/recaptcha/", "reset"},
		{"hcaptcha", webpage.Captcha{Provider: webpage.ProviderHCaptcha, SiteKey: "10000000-ffff-ffff-ffff-000000000001"}, "https://js.hcaptcha.com/1/api.js", "https://*.hcaptcha.com", "https://*.hcaptcha.com", webpage.DefaultCaptchaAction},
		{"turnstile", webpage.Captcha{Provider: webpage.ProviderTurnstile, SiteKey: "1x00000000000000000000AA"}, "https://challenges.cloudflare.com/turnstile/v0/api.js", "https://challenges.cloudflare.com", "https://challenges.cloudflare.com", webpage.DefaultCaptchaAction},
		{"qq", webpage.Captcha{Provider: webpage.ProviderQQ, SiteKey: "190000000"}, "https://turing.captcha.qcloud.com/TCaptcha.js", "https://*.captcha.qcloud.com", "https://*.captcha.gtimg.com", webpage.DefaultCaptchaAction},
		{"qq with the global script", webpage.Captcha{Provider: webpage.ProviderQQ, SiteKey: "190000000", ScriptURL: "https://ca.turing.captcha.qcloud.com/TJNCaptcha-global.js"}, "https://ca.turing.captcha.qcloud.com/TJNCaptcha-global.js", "https://ca.turing.captcha.qcloud.com", "https://ca.turing.captcha.qcloud.com", webpage.DefaultCaptchaAction},
		{"recaptcha.net mirror", webpage.Captcha{Provider: webpage.ProviderRecaptcha, SiteKey: "6Lc", ScriptURL: "https://www.recaptcha.net/recaptcha/api.js"}, "https://www.recaptcha.net/recaptcha/api.js", "https://www.recaptcha.net", "https://www.recaptcha.net", webpage.DefaultCaptchaAction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, webpage.Handler(webpage.Config{APIKey: "k", Captcha: tt.captcha}), http.MethodGet, "/", nil)
			require.Equal(t, http.StatusOK, rec.Code)
			page := rec.Body.String()
			for name, want := range map[string]string{
				"otpreset-captcha-provider": tt.captcha.Provider,
				"otpreset-captcha-sitekey":  tt.captcha.SiteKey,
				"otpreset-captcha-script":   tt.script,
				"otpreset-captcha-action":   tt.action,
			} {
				got, ok := metaContent(t, page, name)
				require.True(t, ok, name)
				assert.Equal(t, want, got, name)
			}
			csp := rec.Header().Get("Content-Security-Policy")
			assert.NotContains(t, csp, "unsafe-inline")
			assert.Contains(t, strings.Fields(directive(csp, "script-src")), tt.scriptSrc)
			assert.Contains(t, strings.Fields(directive(csp, "script-src")), "'self'")
			assert.Contains(t, strings.Fields(directive(csp, "frame-src")), tt.frameSrc)
		})
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		name, endpoint, wantMeta, wantConnect string
	}{
		{"default", "", otpreset.Path, "'self'"},
		{"prefixed path", "/api" + otpreset.Path, "/api" + otpreset.Path, "'self'"},
		{"other origin", "https://auth.example.com" + otpreset.Path, "https://auth.example.com" + otpreset.Path, "'self' https://auth.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, webpage.Handler(webpage.Config{APIKey: "k", Endpoint: tt.endpoint}), http.MethodGet, "/", nil)
			got, ok := metaContent(t, rec.Body.String(), "otpreset-endpoint")
			require.True(t, ok)
			assert.Equal(t, tt.wantMeta, got)
			assert.Equal(t, tt.wantConnect, directive(rec.Header().Get("Content-Security-Policy"), "connect-src"))
		})
	}
}

func TestStaticFiles(t *testing.T) {
	h := webpage.Handler(webpage.Config{APIKey: "k"})
	tests := []struct{ path, file, contentType string }{
		{"/app.js", "assets/app.js", "text/javascript; charset=utf-8"},
		{"/app.css", "assets/app.css", "text/css; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			want, err := os.ReadFile(tt.file)
			require.NoError(t, err)

			rec := get(t, h, http.MethodGet, tt.path, nil)
			require.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, tt.contentType, rec.Header().Get("Content-Type"))
			assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
			assert.Equal(t, string(want), rec.Body.String())
			etag := rec.Header().Get("ETag")
			require.Regexp(t, `^"[0-9a-f]{24}"$`, etag)

			again := get(t, h, http.MethodGet, tt.path, http.Header{"If-None-Match": {etag}})
			assert.Equal(t, http.StatusNotModified, again.Code)
			assert.Empty(t, again.Body.String())

			head := get(t, h, http.MethodHead, tt.path, nil)
			assert.Equal(t, http.StatusOK, head.Code)
			assert.Equal(t, tt.contentType, head.Header().Get("Content-Type"))
			assert.Empty(t, head.Body.String())
		})
	}
}

func TestRouting(t *testing.T) {
	root := webpage.Handler(webpage.Config{APIKey: "k"})
	prefixed := webpage.Handler(webpage.Config{APIKey: "k", BasePath: "/reset"})
	tests := []struct {
		name     string
		h        http.Handler
		method   string
		path     string
		status   int
		location string
	}{
		{"index", root, http.MethodGet, "/", http.StatusOK, ""},
		{"index.html", root, http.MethodGet, "/index.html", http.StatusOK, ""},
		{"unknown file", root, http.MethodGet, "/favicon.ico", http.StatusNotFound, ""},
		{"embedded path is not exposed", root, http.MethodGet, "/assets/app.js", http.StatusNotFound, ""},
		{"template source is not exposed", root, http.MethodGet, "/assets/index.html", http.StatusNotFound, ""},
		{"Go source is not exposed", root, http.MethodGet, "/webpage.go", http.StatusNotFound, ""},
		{"traversal", root, http.MethodGet, "/../webpage.go", http.StatusNotFound, ""},
		{"subdirectory", root, http.MethodGet, "/x/", http.StatusNotFound, ""},
		{"POST", root, http.MethodPost, "/", http.StatusMethodNotAllowed, ""},
		{"PUT on a file", root, http.MethodPut, "/app.js", http.StatusMethodNotAllowed, ""},
		{"prefixed index", prefixed, http.MethodGet, "/reset/", http.StatusOK, ""},
		{"prefixed script", prefixed, http.MethodGet, "/reset/app.js", http.StatusOK, ""},
		{"prefix without slash", prefixed, http.MethodGet, "/reset", http.StatusMovedPermanently, "/reset/"},
		{"outside the prefix", prefixed, http.MethodGet, "/app.js", http.StatusNotFound, ""},
		{"prefix look-alike", prefixed, http.MethodGet, "/resetapp.js", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, tt.h, tt.method, tt.path, nil)
			assert.Equal(t, tt.status, rec.Code)
			if tt.status == http.StatusMethodNotAllowed {
				assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
			}
			if tt.location != "" {
				assert.Equal(t, tt.location, rec.Header().Get("Location"))
			}
		})
	}

	page := get(t, prefixed, http.MethodGet, "/reset/", nil).Body.String()
	assert.Contains(t, page, `src="/reset/app.js"`)
	assert.Contains(t, page, `href="/reset/app.css"`)
}

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  webpage.Config
	}{
		{"no API key", webpage.Config{}},
		{"blank API key", webpage.Config{APIKey: "  "}},
		{"base path without slash", webpage.Config{APIKey: "k", BasePath: "reset"}},
		{"base path with trailing slash", webpage.Config{APIKey: "k", BasePath: "/reset/"}},
		{"relative endpoint", webpage.Config{APIKey: "k", Endpoint: "identity/v2"}},
		{"javascript endpoint", webpage.Config{APIKey: "k", Endpoint: "javascript:alert(1)"}},
		{"unknown provider", webpage.Config{APIKey: "k", Captcha: webpage.Captcha{Provider: "geetest", SiteKey: "s"}}},
		{"provider without site key", webpage.Config{APIKey: "k", Captcha: webpage.Captcha{Provider: webpage.ProviderHCaptcha}}},
		{"http script", webpage.Config{APIKey: "k", Captcha: webpage.Captcha{Provider: webpage.ProviderQQ, SiteKey: "1", ScriptURL: "http://ssl.captcha.qq.com/TCaptcha.js"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := webpage.New(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, h)
			assert.True(t, errors.Is(err, webpage.ErrInvalidConfig), "%v does not wrap ErrInvalidConfig", err)
			assert.Panics(t, func() { webpage.Handler(tt.cfg) })
		})
	}
}
