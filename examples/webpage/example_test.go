package webpage_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/otpreset/go/examples/webpage"
)

// The page and its two files, served beside otpreset's endpoint.
func Example() {
	mux := http.NewServeMux()
	// mux.Handle(otpreset.Path, h) // the otpreset handler
	mux.Handle("/", webpage.Handler(webpage.Config{APIKey: "demo-api-key"}))

	for _, path := range []string{"/", "/app.js", "/app.css", "/secret.txt"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, rec.Code, rec.Header().Get("Content-Type"))
	}

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(strings.Contains(rec.Body.String(), `<meta name="otpreset-apikey" content="demo-api-key">`))
	// Output:
	// / 200 text/html; charset=utf-8
	// /app.js 200 text/javascript; charset=utf-8
	// /app.css 200 text/css; charset=utf-8
	// /secret.txt 404 text/plain; charset=utf-8
	// true
}

// Under a prefix, with hCaptcha: the page loads hCaptcha's widget and its
// Content-Security-Policy lets in hCaptcha's origins only.
func ExampleNew() {
	h, err := webpage.New(webpage.Config{
		APIKey:   "demo-api-key",
		BasePath: "/reset",
		Captcha:  webpage.Captcha{Provider: webpage.ProviderHCaptcha, SiteKey: "10000000-ffff-ffff-ffff-000000000001"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/reset/", nil))
	for _, d := range strings.Split(rec.Header().Get("Content-Security-Policy"), "; ") {
		fmt.Println(d)
	}
	// Output:
	// default-src 'none'
	// script-src 'self' https://hcaptcha.com https://*.hcaptcha.com
	// style-src 'self' https://hcaptcha.com https://*.hcaptcha.com
	// img-src 'self' data:
	// connect-src 'self' https://hcaptcha.com https://*.hcaptcha.com
	// frame-src https://hcaptcha.com https://*.hcaptcha.com
	// base-uri 'none'
	// form-action 'self'
	// frame-ancestors 'none'
}
