package captcha

import (
	"log/slog"
	"net/http"
	"time"
)

// Siteverify is the configuration that reCAPTCHA, hCaptcha and Turnstile
// share: the three answer the same "siteverify" request. Each of their
// Configs embeds it; only Secret is required.
type Siteverify struct {
	// Secret is the secret key the provider issued for the site or
	// account (server side only). Required.
	Secret string
	// Hostnames, when not empty, lists the hostnames (for reCAPTCHA also
	// Android package names) a token may have been solved on, compared
	// without regard to case.
	Hostnames []string
	// MaxAge, when positive, refuses tokens whose challenge was solved
	// longer ago (the providers' own limits: reCAPTCHA two minutes,
	// Turnstile five).
	MaxAge time.Duration
	// Endpoint replaces the provider's siteverify URL (its
	// DefaultEndpoint): a proxy, or a test server. It must be an absolute
	// http(s) URL.
	Endpoint string
	// HTTPClient sends the requests; nil means a client that does not
	// follow redirects.
	HTTPClient *http.Client
	// Timeout bounds one Verify, any retries included; zero means 5 s.
	Timeout time.Duration
	// Logger gets one line per refusal or failure, never the secret or the
	// token. Nil means slog.Default().
	Logger *slog.Logger
	// Clock tells the time for MaxAge: any value with a Now method, such
	// as an otpreset.Clock. Nil means the system clock.
	Clock interface{ Now() time.Time }
}
