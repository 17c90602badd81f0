// Package transport is the HTTP plumbing the captcha providers share: one
// bounded round trip to a provider (timeout, body limit, status check),
// errors that wrap the captcha sentinels and never carry a secret or a token,
// and the log line each outcome deserves.
package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/otpreset/go/captcha"
)

// DefaultTimeout bounds one Verify call when the configuration sets none.
const DefaultTimeout = 5 * time.Second

// MaxBody is the most of a provider's answer that is read; a longer answer is
// not a verdict (fail closed).
const MaxBody = 64 << 10

// Codes of our own, reported in captcha.Error.Codes beside the providers'.
const (
	CodeTimeout      = "timeout"            // the call ran out of time
	CodeCanceled     = "canceled"           // the caller's context ended
	CodeNetwork      = "network-error"      // the provider could not be reached
	CodeMalformed    = "malformed-response" // the answer is not the documented JSON
	CodeTooLarge     = "response-too-large" // the answer is larger than MaxBody
	CodeTokenTooLong = "token-too-long"     // the client's token is implausibly long
)

// defaultClient is used when a configuration gives no *http.Client. It does
// not follow redirects: a verification endpoint that redirects gave no
// verdict.
var defaultClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Caller makes bounded calls to one provider.
type Caller struct {
	// Provider names the provider in errors and logs ("recaptcha", ...).
	Provider string
	// HTTPClient sends the requests; nil means a client that does not
	// follow redirects.
	HTTPClient *http.Client
	// Timeout bounds one Verify; zero means DefaultTimeout.
	Timeout time.Duration
	// Logger receives one line per refused or failed verification. Nil
	// means slog.Default().
	Logger *slog.Logger
}

// WithTimeout derives the context that bounds one Verify.
func (c *Caller) WithTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	d := c.Timeout
	if d <= 0 {
		d = DefaultTimeout
	}
	return context.WithTimeout(ctx, d)
}

// Do sends req and returns the body of a 2xx answer. Any other outcome is an
// error wrapping captcha.ErrUnavailable: a transport error (with the URL's
// query removed, since a legacy API carries the secret there), a non-2xx
// status, or a body over MaxBody.
func (c *Caller) Do(req *http.Request) ([]byte, error) {
	hc := c.HTTPClient
	if hc == nil {
		hc = defaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, c.transportError(req.Context(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, c.transportError(req.Context(), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, Unavailable(c.Provider, nil, "http-"+strconv.Itoa(resp.StatusCode))
	}
	if len(body) > MaxBody {
		return nil, Unavailable(c.Provider, nil, CodeTooLarge)
	}
	return body, nil
}

// transportError turns a failed round trip into an ErrUnavailable error that
// still matches context.DeadlineExceeded / context.Canceled, with the URL's
// query and credentials stripped.
func (c *Caller) transportError(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		clean := *ue
		clean.URL = Redact(ue.URL)
		err = &clean
	}
	code := CodeNetwork
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		code = CodeTimeout
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		code = CodeCanceled
	}
	return Unavailable(c.Provider, err, code)
}

// Redact returns raw without its query, fragment and user info, so a URL
// that carried a secret can be shown.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable url>"
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	return u.String()
}

// Endpoint validates a configured endpoint URL, returning def when raw is
// empty. It must be an absolute http or https URL; the error wraps
// captcha.ErrInvalidConfig.
func Endpoint(raw, def string) (string, error) {
	if raw == "" {
		return def, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%w: endpoint %q is not an absolute http(s) URL", captcha.ErrInvalidConfig, Redact(raw))
	}
	return raw, nil
}

// Missing is the error for a request that carried no token: no call is made.
func Missing(provider string) error {
	return fmt.Errorf("%s: %w", provider, captcha.ErrMissing)
}

// Rejected is the provider's (or our policy's) refusal of the token.
func Rejected(provider string, codes ...string) error {
	return &captcha.Error{Provider: provider, Codes: Codes(codes), Err: captcha.ErrRejected}
}

// Unavailable is a failure to get a verdict; cause (may be nil) is wrapped so
// errors.Is can still see, for example, context.DeadlineExceeded.
func Unavailable(provider string, cause error, codes ...string) error {
	err := captcha.ErrUnavailable
	if cause != nil {
		err = fmt.Errorf("%w: %w", captcha.ErrUnavailable, cause)
	}
	return &captcha.Error{Provider: provider, Codes: Codes(codes), Err: err}
}

// Misconfigured is a verdict-less answer caused by the host's configuration.
// It matches captcha.ErrUnavailable (fail closed) and
// captcha.ErrMisconfigured.
func Misconfigured(provider string, codes ...string) error {
	return &captcha.Error{
		Provider: provider,
		Codes:    Codes(codes),
		Err:      fmt.Errorf("%w: %w", captcha.ErrUnavailable, captcha.ErrMisconfigured),
	}
}

// maxCodeLen bounds one reported code.
const maxCodeLen = 64

// Codes cleans provider-supplied codes before they enter an error string or
// a log: each is kept only if it is a short token of letters, digits and
// ". _ -"; anything else (which could echo request data) becomes
// "unrecognised-code". Empty codes are dropped.
func Codes(codes []string) []string {
	if len(codes) == 0 {
		return nil
	}
	out := make([]string, 0, len(codes))
	for _, c := range codes {
		if c == "" {
			continue
		}
		if !isCode(c) {
			c = "unrecognised-code"
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Hide replaces every code that contains one of secrets (the secret, the
// token) with "unrecognised-code", so a provider that echoes request data in
// its codes cannot leak it into an error. The comparison ignores case (Slug
// lower-cases); secrets shorter than 8 bytes are not looked for.
func Hide(codes []string, secrets ...string) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = c
		lc := strings.ToLower(c)
		for _, s := range secrets {
			if len(s) >= 8 && strings.Contains(lc, strings.ToLower(s)) {
				out[i] = "unrecognised-code"
				break
			}
		}
	}
	return out
}

func isCode(s string) bool {
	if len(s) > maxCodeLen {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// Slug turns a provider's short English message ("captcha no match") into a
// code ("captcha-no-match"); the result still goes through Codes.
func Slug(msg string) string {
	msg = strings.ToLower(strings.TrimSpace(msg))
	return strings.Join(strings.Fields(msg), "-")
}

// Log writes one line for a verification outcome: misconfiguration at Error
// (someone must fix it), unavailability at Warn, a refused token at Info.
// The line holds the error string (which never carries a secret or token)
// and any extra attributes the provider adds (for example a request id).
func (c *Caller) Log(ctx context.Context, err error, attrs ...slog.Attr) {
	if err == nil {
		return
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	level := slog.LevelInfo
	msg := "captcha rejected"
	switch {
	case errors.Is(err, captcha.ErrMisconfigured):
		level, msg = slog.LevelError, "captcha provider misconfigured"
	case errors.Is(err, captcha.ErrUnavailable):
		level, msg = slog.LevelWarn, "captcha provider unavailable"
	case errors.Is(err, captcha.ErrMissing):
		level, msg = slog.LevelDebug, "captcha missing"
	}
	all := append([]slog.Attr{slog.String("provider", c.Provider), slog.String("error", err.Error())}, attrs...)
	log.LogAttrs(ctx, level, msg, all...)
}
