// Package recaptcha verifies Google reCAPTCHA v2 and v3 tokens with the
// siteverify API (POST secret, response, remoteip to
// https://www.google.com/recaptcha/api/siteverify).
//
// v2 (checkbox or invisible) is accepted when Google says success. v3 adds a
// score (1.0 very likely human, 0.0 very likely a bot) and an action name:
// tokens scoring below MinScore (by default DefaultMinScore, 0.5, Google's
// recommended starting point) are refused, and so are tokens minted for
// another action when Action is set. Hostnames and MaxAge check where and
// when the challenge was solved.
//
// Every failure to get a verdict (timeout, 5xx, an answer that is not the
// documented JSON) is an error wrapping captcha.ErrUnavailable: the caller
// must treat it as a rejection. Google's error codes are kept in
// captcha.Error.Codes; invalid-input-secret, missing-input-secret and
// bad-request also wrap ErrMisconfigured, since they mean the host's
// configuration (not the user's token) is wrong.
//
// reCAPTCHA Enterprise (the CreateAssessment API) is not covered.
package recaptcha

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/captcha/internal/siteverify"
	"github.com/otpreset/go/captcha/internal/transport"
)

// Provider is the name used in errors and logs.
const Provider = "recaptcha"

// DefaultEndpoint is Google's siteverify URL.
const DefaultEndpoint = "https://www.google.com/recaptcha/api/siteverify"

// AlternateEndpoint is Google's siteverify on recaptcha.net, for networks
// where www.google.com is not reachable.
const AlternateEndpoint = "https://www.recaptcha.net/recaptcha/api/siteverify"

// MaxTokenLen is the longest token sent to Google; longer ones are refused
// without a call.
const MaxTokenLen = 16 << 10

// ErrMisconfigured is wrapped when Google says the secret or the request is
// wrong (missing-input-secret, invalid-input-secret, bad-request). It is the
// same value in every provider package.
var ErrMisconfigured = transport.ErrMisconfigured

// Google's documented error codes.
const (
	CodeMissingInputSecret   = "missing-input-secret"
	CodeInvalidInputSecret   = "invalid-input-secret"
	CodeMissingInputResponse = "missing-input-response"
	CodeInvalidInputResponse = "invalid-input-response"
	CodeBadRequest           = "bad-request"
	CodeTimeoutOrDuplicate   = "timeout-or-duplicate"
)

var classes = map[string]siteverify.Class{
	CodeMissingInputSecret:   siteverify.Config,
	CodeInvalidInputSecret:   siteverify.Config,
	CodeBadRequest:           siteverify.Config,
	CodeMissingInputResponse: siteverify.Token,
	CodeInvalidInputResponse: siteverify.Token,
	CodeTimeoutOrDuplicate:   siteverify.Token,
}

// DefaultMinScore is the v3 score threshold used when Config.MinScore is
// zero: Google's recommended starting point ("by default, you can use a
// threshold of 0.5"). Lower it only after looking at your site's scores in
// the admin console.
const DefaultMinScore = 0.5

// NoScoreCheck, as Config.MinScore, accepts a v3 token whatever its score
// (any negative value does). Zero cannot mean that, because zero is the
// unset value that gets DefaultMinScore.
const NoScoreCheck = -1

// Config configures a Verifier. Only Secret is required.
type Config struct {
	// Secret is the site's secret key (server side only).
	Secret string
	// MinScore is the lowest v3 score accepted.
	//   - Zero (unset): DefaultMinScore (0.5) for answers that carry a score;
	//     answers without one (v2 keys) are accepted, so the default suits
	//     both key types.
	//   - Between 0 and 1: that threshold, and an answer without a score is
	//     refused (a threshold says the key is a v3 key).
	//   - Negative (NoScoreCheck): no score check at all.
	// Values above 1 (and NaN) are refused by New.
	MinScore float64
	// Action, for v3 keys, is the action name the page passed to
	// grecaptcha.execute (for example "reset_password"); when set, tokens
	// for any other action are refused.
	Action string
	// Hostnames, when not empty, lists the site hostnames (or Android
	// package names) a token may have been solved on.
	Hostnames []string
	// MaxAge, when positive, refuses tokens whose challenge_ts is older
	// than this (Google's own limit is two minutes).
	MaxAge time.Duration
	// Endpoint overrides DefaultEndpoint (AlternateEndpoint, tests).
	Endpoint string
	// HTTPClient sends the requests; nil means a client that does not
	// follow redirects.
	HTTPClient *http.Client
	// Timeout bounds one Verify; zero means 5 s.
	Timeout time.Duration
	// Logger gets one line per refusal or failure, never the secret or the
	// token. Nil means slog.Default().
	Logger *slog.Logger
	// Clock tells the time for MaxAge. Nil means the system clock.
	Clock captcha.Clock
}

// Verifier verifies reCAPTCHA tokens; it implements captcha.Verifier and is
// safe for concurrent use.
type Verifier struct {
	secret string
	sv     siteverify.Verifier
}

var _ captcha.Verifier = (*Verifier)(nil)

// New checks cfg and returns a Verifier, or an error wrapping
// captcha.ErrInvalidConfig.
func New(cfg Config) (*Verifier, error) {
	if cfg.Secret == "" {
		return nil, fmt.Errorf("%w: recaptcha: Secret is required", captcha.ErrInvalidConfig)
	}
	if math.IsNaN(cfg.MinScore) || cfg.MinScore > 1 {
		return nil, fmt.Errorf("%w: recaptcha: MinScore must be at most 1 (negative: no score check)", captcha.ErrInvalidConfig)
	}
	endpoint, err := transport.Endpoint(cfg.Endpoint, DefaultEndpoint)
	if err != nil {
		return nil, err
	}
	v := &Verifier{secret: cfg.Secret, sv: siteverify.Verifier{
		Caller:      transport.Caller{Provider: Provider, HTTPClient: cfg.HTTPClient, Timeout: cfg.Timeout, Logger: cfg.Logger},
		Endpoint:    endpoint,
		Classes:     classes,
		MaxTokenLen: MaxTokenLen,
		Hostnames:   cfg.Hostnames,
		Action:      cfg.Action,
		MaxAge:      cfg.MaxAge,
		Clock:       cfg.Clock,
	}}
	switch minScore := cfg.MinScore; {
	case minScore == 0:
		// A v2 key's answer has no score; only v3 answers are judged.
		v.sv.ScoreOK = func(s *float64) bool { return s == nil || *s >= DefaultMinScore }
	case minScore > 0:
		v.sv.ScoreOK = func(s *float64) bool { return s != nil && *s >= minScore }
	}
	return v, nil
}

// Verify asks Google about t.Response (the g-recaptcha-response), passing
// t.RemoteIP as remoteip. It returns nil only for a token Google accepts
// that also meets MinScore, Action, Hostnames and MaxAge.
func (v *Verifier) Verify(ctx context.Context, t captcha.Token) error {
	return v.sv.Verify(ctx, v.secret, t, nil)
}
