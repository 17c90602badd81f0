// Package siteverify implements the "siteverify" protocol that reCAPTCHA,
// hCaptcha and Cloudflare Turnstile share: a form POST of secret, response
// and remoteip, answered by JSON with success, challenge_ts, hostname and
// error-codes, plus each provider's extras (score, action). Provider packages
// configure a Verifier and add only what differs.
package siteverify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/captcha/internal/transport"
)

// Codes of our own for answers that the provider accepted but the policy did
// not, or that cannot be judged.
const (
	CodeScore          = "score-threshold"   // the score failed the configured threshold
	CodeMissingScore   = "missing-score"     // a threshold is set but the answer has no score
	CodeAction         = "action-mismatch"   // the action is not the expected one
	CodeHostname       = "hostname-mismatch" // the hostname is not an expected one
	CodeStale          = "stale-challenge"   // challenge_ts is older than MaxAge (or in the future)
	CodeBadChallengeTS = "bad-challenge-ts"  // challenge_ts is missing or unreadable
)

// ClockSkew is how far in the future a challenge_ts may be before it is
// refused as implausible.
const ClockSkew = time.Minute

// Class says what one provider error code means.
type Class int

const (
	// Token: the token is bad, expired or spent (ErrRejected). The zero value,
	// so unknown codes fail closed as rejections.
	Token Class = iota
	// Config: the host's secret, site key or request is wrong
	// (captcha.ErrUnavailable + captcha.ErrMisconfigured).
	Config
	// Transient: the provider failed; trying again may work (ErrUnavailable).
	Transient
)

// Answer is the siteverify JSON answer; each provider fills what it documents.
type Answer struct {
	Success        *bool    `json:"success"`
	ChallengeTS    string   `json:"challenge_ts"`
	Hostname       string   `json:"hostname"`
	APKPackageName string   `json:"apk_package_name"`
	ErrorCodes     []string `json:"error-codes"`
	Score          *float64 `json:"score"`
	ScoreReason    []string `json:"score_reason"`
	Action         string   `json:"action"`
	CData          string   `json:"cdata"`
}

// Verifier is one provider's configured siteverify client.
type Verifier struct {
	transport.Caller
	// Endpoint is the siteverify URL.
	Endpoint string
	// Classes maps the provider's documented error codes; codes not in it
	// are treated as Token (a rejection).
	Classes map[string]Class
	// MaxTokenLen refuses longer tokens without a call.
	MaxTokenLen int
	// Hostnames, when not empty, lists the hostnames (or Android package
	// names) a token may have been solved on; compared case-insensitively.
	Hostnames []string
	// Action, when set, must equal the answer's action.
	Action string
	// MaxAge, when positive, refuses answers whose challenge_ts is older.
	MaxAge time.Duration
	// Clock tells the time for MaxAge; nil means the system clock.
	Clock interface{ Now() time.Time }
	// ScoreOK, when set, judges the answer's score; it is given nil when the
	// answer has none.
	ScoreOK func(score *float64) bool
	// Retries is how many times a call that got no verdict (network error,
	// 5xx, malformed answer, a Transient code) is repeated within the same
	// timeout. Only safe where the provider de-duplicates (Turnstile's
	// idempotency_key); zero elsewhere.
	Retries int
}

// New returns provider's Verifier for the shared configuration c: c.Secret
// is required, and c.Endpoint, when set, replaces defaultEndpoint. Errors
// wrap captcha.ErrInvalidConfig. The caller adds Classes, MaxTokenLen and its
// own policy.
func New(provider string, c captcha.Siteverify, defaultEndpoint string) (Verifier, error) {
	if c.Secret == "" {
		return Verifier{}, fmt.Errorf("%w: %s: Secret is required", captcha.ErrInvalidConfig, provider)
	}
	endpoint, err := transport.Endpoint(c.Endpoint, defaultEndpoint)
	if err != nil {
		return Verifier{}, err
	}
	return Verifier{
		Caller:    transport.Caller{Provider: provider, HTTPClient: c.HTTPClient, Timeout: c.Timeout, Logger: c.Logger},
		Endpoint:  endpoint,
		Hostnames: c.Hostnames,
		MaxAge:    c.MaxAge,
		Clock:     c.Clock,
	}, nil
}

// Verify checks t with the provider. extra holds provider-specific form
// fields (sitekey, idempotency_key) added to secret/response/remoteip.
func (v *Verifier) Verify(ctx context.Context, secret string, t captcha.Token, extra url.Values) error {
	ans, err := v.Check(ctx, secret, t, extra)
	v.Log(ctx, err, LogAttrs(ans)...)
	return err
}

// Check is Verify without the log line, returning the provider's answer when
// one was read (nil otherwise).
func (v *Verifier) Check(ctx context.Context, secret string, t captcha.Token, extra url.Values) (*Answer, error) {
	if t.Response == "" {
		return nil, transport.Missing(v.Provider)
	}
	if v.MaxTokenLen > 0 && len(t.Response) > v.MaxTokenLen {
		return nil, transport.Rejected(v.Provider, transport.CodeTokenTooLong)
	}
	ctx, cancel := v.WithTimeout(ctx)
	defer cancel()
	for attempt := 0; ; attempt++ {
		ans, err := v.Post(ctx, secret, t, extra)
		if err == nil {
			ans.ErrorCodes = transport.Hide(ans.ErrorCodes, secret, t.Response)
			err = v.Judge(ans)
		}
		if attempt >= v.Retries || ctx.Err() != nil || !retryable(err) {
			return ans, err
		}
	}
}

// retryable reports whether err is a failure to get a verdict that another
// attempt might fix.
func retryable(err error) bool {
	return errors.Is(err, captcha.ErrUnavailable) && !errors.Is(err, captcha.ErrMisconfigured)
}

// Post sends one siteverify request and decodes the answer. It does not
// judge the answer; an answer without "success" is malformed.
func (v *Verifier) Post(ctx context.Context, secret string, t captcha.Token, extra url.Values) (*Answer, error) {
	form := url.Values{}
	form.Set("secret", secret)
	form.Set("response", t.Response)
	if t.RemoteIP != "" {
		form.Set("remoteip", t.RemoteIP)
	}
	for k, vs := range extra {
		for _, x := range vs {
			if x != "" {
				form.Add(k, x)
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.Endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, transport.Misconfigured(v.Provider, "bad-endpoint")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	body, err := v.Do(req)
	if err != nil {
		return nil, err
	}
	var ans Answer
	if err := json.Unmarshal(body, &ans); err != nil || ans.Success == nil {
		return nil, transport.Unavailable(v.Provider, nil, transport.CodeMalformed)
	}
	return &ans, nil
}

// Judge turns a decoded answer into nil (accepted) or an error. A refusal is
// classified by its worst code: any Config code makes it a
// misconfiguration, else any Transient code makes it unavailable, else it is
// a rejection. An accepted answer must then pass the policy: hostname,
// action, freshness and score.
func (v *Verifier) Judge(ans *Answer) error {
	if !*ans.Success {
		worst := Token
		for _, c := range ans.ErrorCodes {
			if cl := v.Classes[c]; cl == Config || (cl == Transient && worst == Token) {
				worst = cl
			}
		}
		codes := ans.ErrorCodes
		switch worst {
		case Config:
			return transport.Misconfigured(v.Provider, codes...)
		case Transient:
			return transport.Unavailable(v.Provider, nil, codes...)
		}
		if len(codes) == 0 {
			codes = []string{"unspecified"}
		}
		return transport.Rejected(v.Provider, codes...)
	}
	if len(v.Hostnames) > 0 && !v.hostnameOK(ans) {
		return transport.Rejected(v.Provider, CodeHostname)
	}
	if v.Action != "" && ans.Action != v.Action {
		return transport.Rejected(v.Provider, CodeAction)
	}
	if v.MaxAge > 0 {
		ts, err := time.Parse(time.RFC3339, ans.ChallengeTS)
		if err != nil {
			return transport.Unavailable(v.Provider, nil, CodeBadChallengeTS)
		}
		now := time.Now()
		if v.Clock != nil {
			now = v.Clock.Now()
		}
		if age := now.Sub(ts); age > v.MaxAge || age < -ClockSkew {
			return transport.Rejected(v.Provider, CodeStale)
		}
	}
	if v.ScoreOK != nil && !v.ScoreOK(ans.Score) {
		if ans.Score == nil {
			return transport.Rejected(v.Provider, CodeMissingScore)
		}
		return transport.Rejected(v.Provider, CodeScore)
	}
	return nil
}

func (v *Verifier) hostnameOK(ans *Answer) bool {
	got := ans.Hostname
	if got == "" {
		got = ans.APKPackageName
	}
	for _, h := range v.Hostnames {
		if got != "" && strings.EqualFold(got, h) {
			return true
		}
	}
	return false
}

// LogAttrs returns the attributes worth logging about an answer: its score,
// which helps tune a threshold.
func LogAttrs(ans *Answer) []slog.Attr {
	if ans == nil || ans.Score == nil {
		return nil
	}
	return []slog.Attr{slog.Float64("score", *ans.Score)}
}
