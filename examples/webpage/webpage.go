package webpage

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/otpreset/go/otpreset"
)

//go:embed assets/index.html assets/app.js assets/app.css
var assets embed.FS

// ErrInvalidConfig is wrapped by every error New returns for an invalid Config.
var ErrInvalidConfig = errors.New("webpage: invalid config")

// Captcha providers the page knows how to load.
const (
	ProviderRecaptcha   = "recaptcha"    // Google reCAPTCHA v2 checkbox
	ProviderRecaptchaV3 = "recaptcha-v3" // Google reCAPTCHA v3 (no widget; a score per action)
	ProviderHCaptcha    = "hcaptcha"
	ProviderTurnstile   = "turnstile" // Cloudflare Turnstile
	ProviderQQ          = "qq"        // Tencent captcha (TencentCaptcha, a pop-up)
)

// DefaultTitle is the page's heading when Config.Title is empty.
const DefaultTitle = "Reset your password"

// DefaultCaptchaAction is the action name reCAPTCHA v3 and Turnstile tokens
// are minted for when Captcha.Action is empty; configure the server's
// verifier to expect the same.
const DefaultCaptchaAction = "password_reset"

// Config configures the page. The zero value is not usable: APIKey is
// required.
type Config struct {
	// APIKey is the tenant's API key, written into the page. It is public in
	// LoginRadius's model (it names the tenant; it is not a secret).
	// Required.
	APIKey string
	// BasePath is the path prefix the handler is mounted at, "" for the root
	// (e.g. "/reset": the page is at /reset/, its files at /reset/app.js).
	// It starts with "/" and does not end with one. The handler strips it.
	BasePath string
	// Endpoint is the otpreset endpoint as the browser reaches it. Default:
	// otpreset.Path on the page's own origin. An absolute http(s) URL on
	// another origin is allowed in the page's connect-src (that origin must
	// then answer CORS).
	Endpoint string
	// Title is the page's heading and <title>. Default DefaultTitle.
	Title string
	// Captcha, when Provider is set, loads that provider's widget.
	Captcha Captcha
}

// Captcha names the Bot Protection widget the page shows. Match it to the
// tenant's otpreset CaptchaPolicy.
type Captcha struct {
	// Provider is one of the Provider constants; "" means no captcha.
	Provider string
	// SiteKey is the provider's public site key (Tencent: the
	// CaptchaAppId). Required with Provider.
	SiteKey string
	// Action is the action name for reCAPTCHA v3 and Turnstile. Default
	// DefaultCaptchaAction.
	Action string
	// ScriptURL overrides the provider's script, e.g.
	// "https://www.recaptcha.net/recaptcha/api.js" or Tencent's
	// "https://ca.turing.captcha.qcloud.com/TJNCaptcha-global.js". It must be
	// https; its origin is added to the page's policy.
	ScriptURL string
}

// provider is what the page needs to know about one captcha provider.
type provider struct {
	scriptURL string // default script URL
	// Content-Security-Policy sources, per directive, that the provider's
	// widget needs (as each provider documents them).
	script, frame, style, connect, img []string
}

var providers = map[string]provider{
	ProviderRecaptcha: {
		scriptURL: "https://www.google.com/recaptcha/api.js",
		script:    []string{"https://www.google.com/recaptcha/", "https://www.gstatic.com/recaptcha/"},
		frame:     []string{"https://www.google.com/recaptcha/", "https://recaptcha.google.com/recaptcha/"},
	},
	ProviderRecaptchaV3: {
		scriptURL: "https://www.google.com/recaptcha/api.js",
		script:    []string{"https://www.google.com/recaptcha/", "https://www.gstatic.com/recaptcha/"},
		frame:     []string{"https://www.google.com/recaptcha/", "https://recaptcha.google.com/recaptcha/"},
	},
	ProviderHCaptcha: {
		scriptURL: "https://js.hcaptcha.com/1/api.js",
		script:    []string{"https://hcaptcha.com", "https://*.hcaptcha.com"},
		frame:     []string{"https://hcaptcha.com", "https://*.hcaptcha.com"},
		style:     []string{"https://hcaptcha.com", "https://*.hcaptcha.com"},
		connect:   []string{"https://hcaptcha.com", "https://*.hcaptcha.com"},
	},
	ProviderTurnstile: {
		scriptURL: "https://challenges.cloudflare.com/turnstile/v0/api.js",
		script:    []string{"https://challenges.cloudflare.com"},
		frame:     []string{"https://challenges.cloudflare.com"},
	},
	ProviderQQ: {
		scriptURL: "https://turing.captcha.qcloud.com/TCaptcha.js",
		script:    []string{"https://*.captcha.qcloud.com", "https://*.captcha.gtimg.com"},
		frame:     []string{"https://*.captcha.qcloud.com", "https://*.captcha.gtimg.com"},
		style:     []string{"https://*.captcha.qcloud.com", "https://*.captcha.gtimg.com"},
		connect:   []string{"https://*.captcha.qcloud.com", "https://*.captcha.gtimg.com"},
		img:       []string{"https://*.captcha.qcloud.com", "https://*.captcha.gtimg.com"},
	},
}

// page is what index.html is rendered from.
type page struct {
	Title, APIKey, Endpoint, Base string
	Provider, SiteKey, Action     string
	Script                        string
}

// asset is one static file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// handler serves the page.
type handler struct {
	base   string
	index  []byte
	csp    string
	assets map[string]asset
}

// Handler returns the page's handler. It panics when cfg is invalid (as
// template.Must does); use New to get the error instead.
func Handler(cfg Config) http.Handler {
	h, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return h
}

// New returns the page's handler, or an error wrapping ErrInvalidConfig. The
// handler answers GET and HEAD: the page at BasePath+"/", its script at
// BasePath+"/app.js" and its stylesheet at BasePath+"/app.css"; anything
// else is 404 (405 for other methods).
func New(cfg Config) (http.Handler, error) {
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, fmt.Errorf("%w: APIKey is required", ErrInvalidConfig)
	}
	if cfg.BasePath != "" && (!strings.HasPrefix(cfg.BasePath, "/") || strings.HasSuffix(cfg.BasePath, "/")) {
		return nil, fmt.Errorf("%w: BasePath %q must start with / and not end with one", ErrInvalidConfig, cfg.BasePath)
	}
	p := page{Title: cfg.Title, APIKey: cfg.APIKey, Endpoint: cfg.Endpoint, Base: cfg.BasePath}
	if p.Title == "" {
		p.Title = DefaultTitle
	}
	var connect []string
	if p.Endpoint == "" {
		p.Endpoint = otpreset.Path
	} else if origin, err := endpointOrigin(p.Endpoint); err != nil {
		return nil, err
	} else if origin != "" {
		connect = append(connect, origin)
	}

	var prov provider
	if c := cfg.Captcha; c.Provider != "" {
		var ok bool
		if prov, ok = providers[c.Provider]; !ok {
			return nil, fmt.Errorf("%w: unknown captcha provider %q", ErrInvalidConfig, c.Provider)
		}
		if strings.TrimSpace(c.SiteKey) == "" {
			return nil, fmt.Errorf("%w: captcha provider %q needs a SiteKey", ErrInvalidConfig, c.Provider)
		}
		p.Provider, p.SiteKey, p.Action, p.Script = c.Provider, c.SiteKey, c.Action, prov.scriptURL
		if p.Action == "" {
			p.Action = DefaultCaptchaAction
		}
		if c.ScriptURL != "" {
			u, err := url.Parse(c.ScriptURL)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				return nil, fmt.Errorf("%w: captcha ScriptURL %q must be an https URL", ErrInvalidConfig, c.ScriptURL)
			}
			p.Script = c.ScriptURL
			origin := "https://" + u.Host
			prov.script = append(prov.script[:len(prov.script):len(prov.script)], origin)
			prov.frame = append(prov.frame[:len(prov.frame):len(prov.frame)], origin)
		}
	}

	tmpl, err := template.ParseFS(assets, "assets/index.html")
	if err != nil {
		return nil, fmt.Errorf("webpage: parsing index.html: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("webpage: rendering index.html: %w", err)
	}

	h := &handler{base: cfg.BasePath, index: buf.Bytes(), assets: map[string]asset{}}
	for name, ctype := range map[string]string{"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"} {
		body, err := assets.ReadFile("assets/" + name)
		if err != nil {
			return nil, fmt.Errorf("webpage: %w", err)
		}
		sum := sha256.Sum256(body)
		h.assets["/"+name] = asset{body: body, contentType: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	h.csp = policy(prov, connect)
	return h, nil
}

// endpointOrigin returns the origin of an absolute endpoint URL, "" for a
// path on the page's own origin.
func endpointOrigin(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("%w: Endpoint %q: %w", ErrInvalidConfig, endpoint, err)
	}
	switch {
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/"):
		return "", nil
	case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "":
		return u.Scheme + "://" + u.Host, nil
	}
	return "", fmt.Errorf("%w: Endpoint %q must be an absolute path or an http(s) URL", ErrInvalidConfig, endpoint)
}

// policy is the page's Content-Security-Policy: its own origin, plus the
// captcha provider's and the endpoint's origins where they are needed. No
// 'unsafe-inline' and no 'unsafe-eval' anywhere.
func policy(p provider, connect []string) string {
	dir := func(name string, sources ...[]string) string {
		s := name
		for _, list := range sources {
			for _, src := range list {
				s += " " + src
			}
		}
		return s
	}
	self := []string{"'self'"}
	parts := []string{
		"default-src 'none'",
		dir("script-src", self, p.script),
		dir("style-src", self, p.style),
		dir("img-src", self, []string{"data:"}, p.img),
		dir("connect-src", self, connect, p.connect),
	}
	if len(p.frame) > 0 {
		parts = append(parts, dir("frame-src", p.frame))
	}
	parts = append(parts, "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'")
	return strings.Join(parts, "; ")
}

// ServeHTTP serves the page and its two files.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, h.base)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rest == "" { // BasePath without its slash: relative links need the slash
		http.Redirect(w, r, h.base+"/", http.StatusMovedPermanently)
		return
	}
	var a asset
	isIndex := rest == "/" || rest == "/index.html"
	if !isIndex {
		if a, ok = h.assets[rest]; !ok {
			http.NotFound(w, r)
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	if isIndex {
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		hdr.Set("Content-Security-Policy", h.csp)
		hdr.Set("Cache-Control", "no-store")
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("X-Frame-Options", "DENY")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.index))
		return
	}
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", "no-cache") // revalidate: the ETag makes that cheap
	hdr.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
