// Package captcha defines the Verifier that otpreset calls when a tenant's Bot
// Protection asks for a captcha, and the request-side names of the tokens.
// Providers live in sub-packages: recaptcha (Google reCAPTCHA v2/v3), hcaptcha,
// qq (Tencent captcha) and turnstile (Cloudflare). The three that speak the
// "siteverify" protocol (recaptcha, hcaptcha, turnstile) take their common
// settings (secret, endpoint, HTTP client, timeout, logger, clock) in a
// Siteverify embedded in their Config.
//
// Every verifier fails closed: a timeout, a 5xx or an unreadable answer from
// the provider is a rejection (ErrUnavailable), never a success.
package captcha

import (
	"context"
	"errors"
	"strings"
)

// ErrInvalidConfig is wrapped by every error a provider's New returns for a
// configuration it cannot use (a missing secret, a threshold out of range,
// an endpoint that is not an http(s) URL), in every provider package.
var ErrInvalidConfig = errors.New("captcha: invalid configuration")

// Sentinel errors; provider errors wrap one of them.
var (
	// ErrMissing: the request carried no captcha token for this provider.
	ErrMissing = errors.New("captcha: missing")
	// ErrRejected: the provider said the token is not valid (or its score,
	// action or hostname did not meet the configuration).
	ErrRejected = errors.New("captcha: rejected")
	// ErrUnavailable: the provider could not be asked or gave no usable
	// answer; treated as a rejection (fail closed).
	ErrUnavailable = errors.New("captcha: provider unavailable")
	// ErrMisconfigured is wrapped, together with ErrUnavailable, when the
	// provider says the request itself is wrong: an invalid secret, a site
	// key that does not belong to the secret, bad API credentials. The token
	// may be fine; the host's configuration is not.
	ErrMisconfigured = errors.New("captcha: provider misconfigured")
)

// Token is what a client sent to prove it passed a captcha.
type Token struct {
	// Response is the widget's response token: g-recaptcha-response,
	// h-captcha-response, cf-turnstile-response, or the QQ ticket.
	Response string
	// Randstr is the Tencent/QQ rand string (qq_captcha_randstr); empty for
	// other providers.
	Randstr string
	// RemoteIP is the client's address as otpreset resolved it.
	RemoteIP string
}

// Verifier checks a captcha token with its provider.
type Verifier interface {
	// Verify returns nil when the provider accepts the token, or an error
	// wrapping ErrMissing, ErrRejected or ErrUnavailable.
	Verify(ctx context.Context, t Token) error
}

// VerifierFunc adapts a function to Verifier.
type VerifierFunc func(ctx context.Context, t Token) error

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, t Token) error { return f(ctx, t) }

// Error is a provider's answer that refused a token, with the provider's own
// error codes (for example reCAPTCHA's "timeout-or-duplicate"). It never holds
// the secret or the token.
type Error struct {
	Provider string
	Codes    []string
	Err      error // ErrRejected or ErrUnavailable
}

func (e *Error) Error() string {
	msg := e.Provider + ": " + e.Err.Error()
	if len(e.Codes) > 0 {
		msg += " (" + strings.Join(e.Codes, ", ") + ")"
	}
	return msg
}

// Unwrap lets errors.Is match ErrRejected / ErrUnavailable.
func (e *Error) Unwrap() error { return e.Err }
