// Package hcaptcha verifies hCaptcha tokens with the siteverify API (POST
// secret, response, remoteip and sitekey to https://api.hcaptcha.com/siteverify).
//
// A token is accepted when hCaptcha says success and the answer meets the
// configuration: SiteKey (sent, so hCaptcha refuses tokens minted for
// another key), Hostnames, MaxAge and, for hCaptcha Enterprise, MaxScore.
// hCaptcha's score is a risk score: higher means more likely a bot, so the
// threshold is a maximum (the opposite of reCAPTCHA v3).
//
// Failures to get a verdict wrap captcha.ErrUnavailable (fail closed);
// refusals wrap captcha.ErrRejected with hCaptcha's error codes; codes that
// mean the host's keys are wrong (invalid-input-secret,
// sitekey-secret-mismatch, ...) also wrap captcha.ErrMisconfigured.
package hcaptcha

import (
	"context"
	"fmt"
	"net/url"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/captcha/internal/siteverify"
)

// Provider is the name used in errors and logs.
const Provider = "hcaptcha"

// DefaultEndpoint is hCaptcha's siteverify URL.
const DefaultEndpoint = "https://api.hcaptcha.com/siteverify"

// MaxTokenLen is the longest token sent to hCaptcha; longer ones are
// refused without a call.
const MaxTokenLen = 16 << 10

// hCaptcha's documented siteverify error codes.
const (
	CodeMissingInputSecret           = "missing-input-secret"
	CodeInvalidInputSecret           = "invalid-input-secret"
	CodeMissingInputResponse         = "missing-input-response"
	CodeInvalidInputResponse         = "invalid-input-response"
	CodeExpiredInputResponse         = "expired-input-response"
	CodeAlreadySeenResponse          = "already-seen-response"
	CodeInvalidOrAlreadySeenResponse = "invalid-or-already-seen-response"
	CodeBadRequest                   = "bad-request"
	CodeMissingRemoteIP              = "missing-remoteip"
	CodeInvalidRemoteIP              = "invalid-remoteip"
	CodeNotUsingDummyPasscode        = "not-using-dummy-passcode"
	CodeSitekeySecretMismatch        = "sitekey-secret-mismatch"
)

var classes = map[string]siteverify.Class{
	CodeMissingInputSecret:    siteverify.Config,
	CodeInvalidInputSecret:    siteverify.Config,
	CodeBadRequest:            siteverify.Config,
	CodeMissingRemoteIP:       siteverify.Config, // the host passes no client IP where its account requires one
	CodeNotUsingDummyPasscode: siteverify.Config,
	CodeSitekeySecretMismatch: siteverify.Config,
	// A client IP hCaptcha cannot read is a property of this request (and
	// may be spoofed through a proxy header), so it is a plain refusal.
	CodeInvalidRemoteIP:              siteverify.Token,
	CodeMissingInputResponse:         siteverify.Token,
	CodeInvalidInputResponse:         siteverify.Token,
	CodeExpiredInputResponse:         siteverify.Token,
	CodeAlreadySeenResponse:          siteverify.Token,
	CodeInvalidOrAlreadySeenResponse: siteverify.Token,
}

// Config configures a Verifier. Only Secret (the account's or site's
// secret key) is required.
type Config struct {
	captcha.Siteverify
	// SiteKey, when set, is sent as "sitekey": hCaptcha then refuses tokens
	// solved for any other site key. Recommended.
	SiteKey string
	// MaxScore (hCaptcha Enterprise) is the highest risk score accepted,
	// between 0 and 1; higher scores are more likely bots. Zero means no
	// score check. When set, an answer without a score is refused.
	MaxScore float64
}

// Verifier verifies hCaptcha tokens; it implements captcha.Verifier and is
// safe for concurrent use.
type Verifier struct {
	secret string
	extra  url.Values
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
	if cfg.MaxScore < 0 || cfg.MaxScore > 1 {
		return nil, fmt.Errorf("%w: hcaptcha: MaxScore must be between 0 and 1", captcha.ErrInvalidConfig)
	}
	sv.Classes, sv.MaxTokenLen = classes, MaxTokenLen
	if maxScore := cfg.MaxScore; maxScore > 0 {
		sv.ScoreOK = func(s *float64) bool { return s != nil && *s <= maxScore }
	}
	v := &Verifier{secret: cfg.Secret, sv: sv}
	if cfg.SiteKey != "" {
		v.extra = url.Values{"sitekey": {cfg.SiteKey}}
	}
	return v, nil
}

// Verify asks hCaptcha about t.Response (the h-captcha-response), passing
// t.RemoteIP as remoteip.
func (v *Verifier) Verify(ctx context.Context, t captcha.Token) error {
	return v.sv.Verify(ctx, v.secret, t, v.extra)
}
