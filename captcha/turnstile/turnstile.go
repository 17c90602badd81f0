// Package turnstile verifies Cloudflare Turnstile tokens with the siteverify
// API (POST secret, response, remoteip and idempotency_key to
// https://challenges.cloudflare.com/turnstile/v0/siteverify).
//
// Each Verify sends a fresh UUID as idempotency_key, so a call that got no
// verdict (network error, 5xx, an unreadable answer, Cloudflare's
// internal-error) can be repeated without Cloudflare reporting the token as
// already spent; Retries says how often, all within one Timeout.
//
// Failures to get a verdict wrap captcha.ErrUnavailable (fail closed);
// refusals wrap captcha.ErrRejected with Cloudflare's error codes;
// missing-input-secret, invalid-input-secret and bad-request also wrap
// captcha.ErrMisconfigured.
package turnstile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/url"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/captcha/internal/siteverify"
	"github.com/otpreset/go/captcha/internal/transport"
)

// Provider is the name used in errors and logs.
const Provider = "turnstile"

// DefaultEndpoint is Cloudflare's siteverify URL.
const DefaultEndpoint = "https://challenges.cloudflare.com/turnstile/v0/siteverify"

// MaxTokenLen is Cloudflare's documented maximum token length; longer
// tokens are refused without a call.
const MaxTokenLen = 2048

// Cloudflare's documented siteverify error codes.
const (
	CodeMissingInputSecret   = "missing-input-secret"
	CodeInvalidInputSecret   = "invalid-input-secret"
	CodeMissingInputResponse = "missing-input-response"
	CodeInvalidInputResponse = "invalid-input-response"
	CodeBadRequest           = "bad-request"
	CodeTimeoutOrDuplicate   = "timeout-or-duplicate"
	CodeInternalError        = "internal-error"
)

var classes = map[string]siteverify.Class{
	CodeMissingInputSecret:   siteverify.Config,
	CodeInvalidInputSecret:   siteverify.Config,
	CodeBadRequest:           siteverify.Config,
	CodeMissingInputResponse: siteverify.Token,
	CodeInvalidInputResponse: siteverify.Token,
	CodeTimeoutOrDuplicate:   siteverify.Token,
	CodeInternalError:        siteverify.Transient,
}

// Config configures a Verifier. Only Secret (the widget's secret key) is
// required; Cloudflare's own MaxAge is 300 s, and Timeout bounds a Verify
// with its retries.
type Config struct {
	captcha.Siteverify
	// Action, when set, must equal the action the widget was rendered with
	// (data-action); Cloudflare recommends checking it.
	Action string
	// Retries is how many times a call without a verdict is repeated with
	// the same idempotency_key. Zero means 1; negative means never.
	Retries int
	// Rand is the source of idempotency keys; nil means crypto/rand.
	Rand io.Reader
}

// Verifier verifies Turnstile tokens; it implements captcha.Verifier and is
// safe for concurrent use if Rand is.
type Verifier struct {
	secret string
	rand   io.Reader
	sv     siteverify.Verifier
}

var _ captcha.Verifier = (*Verifier)(nil)

// New checks cfg and returns a Verifier, or an error wrapping
// captcha.ErrInvalidConfig.
func New(cfg Config) (*Verifier, error) {
	sv, err := siteverify.New(Provider, cfg.Siteverify, DefaultEndpoint)
	if err != nil {
		return nil, err
	}
	sv.Classes, sv.MaxTokenLen, sv.Action = classes, MaxTokenLen, cfg.Action
	switch sv.Retries = cfg.Retries; {
	case cfg.Retries == 0:
		sv.Retries = 1
	case cfg.Retries < 0:
		sv.Retries = 0
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	return &Verifier{secret: cfg.Secret, rand: r, sv: sv}, nil
}

// Verify asks Cloudflare about t.Response (the cf-turnstile-response),
// passing t.RemoteIP as remoteip.
func (v *Verifier) Verify(ctx context.Context, t captcha.Token) error {
	key, err := uuid4(v.rand)
	if err != nil {
		err = transport.Unavailable(Provider, err, "no-idempotency-key")
		v.sv.Log(ctx, err)
		return err
	}
	return v.sv.Verify(ctx, v.secret, t, url.Values{"idempotency_key": {key}})
}

// uuid4 reads a random (version 4, RFC 9562) UUID from r.
func uuid4(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}
