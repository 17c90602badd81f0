// Package httpsender plugs any SMS provider into otpreset without Go code:
// it POSTs each message as JSON to a URL the host runs, signed exactly like
// otpreset's webhooks, and reads the message id from the answer.
//
// The request:
//
//	POST <URL>
//	Content-Type: application/json
//	signature: <upper-case hex HMAC-SHA256 of the body>            (Secrets.LoginRadius)
//	webhook-id, webhook-timestamp, webhook-signature: v1,<base64>  (Secrets.Standard)
//
//	{"tenant":"acme","to":"+919999999999","body":"...","code":"123456","voice":false}
//
// A message for another channel than SMS (sms.Message.Channel) also has
// "channel":"whatsapp"; a receiver that cannot serve it answers an error
// (e.g. 422), and sms.ChannelFallback then sends the text by SMS.
//
// The expected answer is a 2xx with {"sid":"...","account_sid":"..."}
// (account_sid optional). 429 and 5xx answers are retryable (see
// sms.Retry), with Retry-After honoured; other answers are permanent
// failures. A receiver checks the signatures with signature.Verify
// (package github.com/otpreset/go/webhook/signature), as for otpreset's
// webhooks.
package httpsender

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/sms/internal/httpx"
	"github.com/otpreset/go/webhook/signature"
)

// ErrInvalidConfig is wrapped by New's errors.
var ErrInvalidConfig = errors.New("httpsender: invalid configuration")

// maxAnswer bounds the answer read.
const maxAnswer = 64 << 10

// Config configures a Sender.
type Config struct {
	// URL receives the POSTs; required, http or https.
	URL string
	// Secrets sign each request as otpreset signs its webhooks; at least
	// one must be set.
	Secrets signature.Secrets
	// OmitCode leaves "code" out of the request; the code is still in
	// "body". Set it when the provider only relays texts.
	OmitCode bool
	// Header is added to every request (e.g. an Authorization header the
	// receiver also wants).
	Header http.Header
	// HTTPClient sends the requests; a client with no redirects when nil.
	HTTPClient *http.Client
	// Timeout bounds each Send; default 10 s.
	Timeout time.Duration
	// Clock tells the time for webhook-timestamp and Retry-After dates: any
	// value with a Now method, such as an otpreset.Clock. Nil means the
	// system clock.
	Clock interface{ Now() time.Time }
	// NewID makes each request's webhook-id; default a random UUID.
	NewID func() string
	// Logger receives a debug line per accepted message (phone masked, no
	// code). Nil means slog.Default().
	Logger *slog.Logger
}

// Sender posts messages to a URL. It is safe for concurrent use.
type Sender struct {
	cfg    Config
	client *http.Client
}

// New checks cfg and returns a Sender.
func New(cfg Config) (*Sender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: URL must be an absolute http(s) URL", ErrInvalidConfig)
	}
	switch err := cfg.Secrets.Validate(); {
	case errors.Is(err, signature.ErrNoSecret):
		return nil, fmt.Errorf("%w: set Secrets.LoginRadius or Secrets.Standard", ErrInvalidConfig)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = httpx.DefaultTimeout
	}
	if cfg.NewID == nil {
		cfg.NewID = uuid.NewString
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Sender{cfg: cfg, client: client}, nil
}

// request is the JSON body posted.
type request struct {
	Tenant string `json:"tenant"`
	To     string `json:"to"`
	Body   string `json:"body"`
	Code   string `json:"code,omitempty"`
	Voice  bool   `json:"voice"`
	// Channel is left out for SMS, so receivers written before channels
	// see the same body.
	Channel string `json:"channel,omitempty"`
}

// answer is the JSON body expected back.
type answer struct {
	Sid        string `json:"sid"`
	AccountSid string `json:"account_sid"`
}

// Send posts m and returns the receipt the answer names. Errors wrap
// sms.ErrSendFailed; an HTTP error answer is an *Error.
func (s *Sender) Send(ctx context.Context, m sms.Message) (sms.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	in := request{Tenant: m.TenantID, To: m.To, Body: m.Body, Code: m.Code, Voice: m.Voice}
	if !m.Voice && !m.Channel.IsSMS() {
		in.Channel = string(m.Channel)
	}
	if s.cfg.OmitCode {
		in.Code = ""
	}
	body, err := json.Marshal(in)
	if err != nil {
		return sms.Receipt{}, fmt.Errorf("%w: httpsender: %w", sms.ErrSendFailed, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return sms.Receipt{}, fmt.Errorf("%w: httpsender: %w", sms.ErrSendFailed, err)
	}
	for k, vs := range s.cfg.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if err := signature.Sign(req.Header, s.cfg.Secrets, s.cfg.NewID(), httpx.Now(s.cfg.Clock), body); err != nil {
		return sms.Receipt{}, fmt.Errorf("%w: httpsender: sign: %w", sms.ErrSendFailed, err)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return sms.Receipt{}, fmt.Errorf("%w: httpsender: %w", sms.ErrSendFailed, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return sms.Receipt{}, fmt.Errorf("%w: httpsender: read answer: %w", sms.ErrSendFailed, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return sms.Receipt{}, &Error{Status: res.StatusCode, Wait: httpx.RetryAfter(res.Header.Get("Retry-After"), httpx.Now(s.cfg.Clock))}
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return sms.Receipt{}, fmt.Errorf("%w: httpsender: answer (HTTP %d) is not JSON: %w", sms.ErrSendFailed, res.StatusCode, ErrBadAnswer)
	}
	if a.Sid == "" {
		return sms.Receipt{}, fmt.Errorf("%w: httpsender: answer (HTTP %d) has no sid: %w", sms.ErrSendFailed, res.StatusCode, ErrBadAnswer)
	}
	s.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "sms: provider accepted the message",
		slog.String("to", sms.MaskPhone(m.To)), slog.String("tenant", m.TenantID), slog.String("sid", a.Sid))
	return sms.Receipt{AccountSid: a.AccountSid, Sid: a.Sid}, nil
}

// ErrBadAnswer is wrapped when a 2xx answer is not {"sid": "..."}: the
// message may have gone out, so it is not retried.
var ErrBadAnswer = errors.New("httpsender: answer is not {\"sid\": ...}")

// Error is a non-2xx answer. It wraps sms.ErrSendFailed. The answer's body
// is not kept: a careless receiver might echo the code.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Wait is the answer's Retry-After, 0 when it had none.
	Wait time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("httpsender: HTTP %d %s", e.Status, http.StatusText(e.Status))
}

// Unwrap returns sms.ErrSendFailed.
func (e *Error) Unwrap() error { return sms.ErrSendFailed }

// Retryable reports whether sending again may help: 408, 425, 429, 5xx.
func (e *Error) Retryable() bool { return httpx.RetryableStatus(e.Status) }

// RetryAfter is the wait the receiver asked for.
func (e *Error) RetryAfter() time.Duration { return e.Wait }
