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
// bad-request also wrap captcha.ErrMisconfigured, since they mean the host's
// configuration (not the user's token) is wrong.
//
// reCAPTCHA Enterprise (the CreateAssessment API) is not covered.
package recaptcha

import (
	"context"
	"fmt"
	"math"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/captcha/internal/siteverify"
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

// Config configures a Verifier. Only Secret (the site's secret key) is
// required. Endpoint may be AlternateEndpoint; Hostnames may also list
// Android package names; Google's own MaxAge is two minutes.
type Config struct {
	captcha.Siteverify
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
	sv, err := siteverify.New(Provider, cfg.Siteverify, DefaultEndpoint)
	if err != nil {
		return nil, err
	}
	if math.IsNaN(cfg.MinScore) || cfg.MinScore > 1 {
		return nil, fmt.Errorf("%w: recaptcha: MinScore must be at most 1 (negative: no score check)", captcha.ErrInvalidConfig)
	}
	sv.Classes, sv.MaxTokenLen, sv.Action = classes, MaxTokenLen, cfg.Action
	switch minScore := cfg.MinScore; {
	case minScore == 0:
		// A v2 key's answer has no score; only v3 answers are judged.
		sv.ScoreOK = func(s *float64) bool { return s == nil || *s >= DefaultMinScore }
	case minScore > 0:
		sv.ScoreOK = func(s *float64) bool { return s != nil && *s >= minScore }
	}
	return &Verifier{secret: cfg.Secret, sv: sv}, nil
}

// Verify asks Google about t.Response (the g-recaptcha-response), passing
// t.RemoteIP as remoteip. It returns nil only for a token Google accepts
// that also meets MinScore, Action, Hostnames and MaxAge.
func (v *Verifier) Verify(ctx context.Context, t captcha.Token) error {
	return v.sv.Verify(ctx, v.secret, t, nil)
}
