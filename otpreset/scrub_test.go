package otpreset_test

import (
	"context"
	"crypto/sha1" //nolint:gosec // the breach corpora's key, echoed by a careless checker
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/webhook"
)

// What careless host code puts in its errors, and must not leave the process.
const (
	leakPhone    = "+919876543210"
	leakPassword = "correct horse battery staple"
	leakToken    = "tok_3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
	leakCaptcha  = "03AGdBq24PBCbwiDRaSMJ7Zb9xQ2vLkT5n"
	leakAPIKey   = "key-5f0c9a7e-1b2d-4c3e-8f9a-0b1c2d3e4f5a"
)

// captureHandler keeps every log line as text: its message and every
// attribute, those of With and groups included, as key=value.
type captureHandler struct {
	mu    *sync.Mutex
	lines *[]string
	attrs []slog.Attr
}

func newCapture() captureHandler { return captureHandler{mu: &sync.Mutex{}, lines: &[]string{}} }

func (h captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h captureHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	write := func(a slog.Attr) { b.WriteString(" " + attrText(a)) }
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(func(a slog.Attr) bool { write(a); return true })
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.lines = append(*h.lines, b.String())
	return nil
}
func (h captureHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h.attrs = append(slices.Clip(h.attrs), as...)
	return h
}
func (h captureHandler) WithGroup(string) slog.Handler { return h }
func (h captureHandler) Lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(*h.lines)
}

func attrText(a slog.Attr) string {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		var parts []string
		for _, g := range v.Group() {
			parts = append(parts, attrText(g))
		}
		return a.Key + "={" + strings.Join(parts, " ") + "}"
	}
	if err, ok := v.Any().(error); ok {
		return a.Key + "=" + err.Error()
	}
	return a.Key + "=" + v.String()
}

// spanTexts is every name, attribute, event and status of the spans.
func spanTexts(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, "span "+s.Name(), s.Name()+" status: "+s.Status().Description)
		for _, a := range s.Attributes() {
			out = append(out, s.Name()+" "+string(a.Key)+"="+a.Value.String())
		}
		for _, e := range s.Events() {
			out = append(out, s.Name()+" event "+e.Name)
			for _, a := range e.Attributes {
				out = append(out, s.Name()+" event "+e.Name+" "+string(a.Key)+"="+a.Value.String())
			}
		}
	}
	return out
}

// echoingSender keeps every message and fails, echoing it as a careless
// provider client would.
type echoingSender struct {
	mu   sync.Mutex
	sent []sms.Message
}

func (s *echoingSender) Send(_ context.Context, m sms.Message) (sms.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m)
	return sms.Receipt{}, fmt.Errorf("provider said 400 for To=%s Body=%q (auth %s)", m.To, m.Body, leakToken)
}

func (s *echoingSender) code() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent[len(s.sent)-1].Code
}

// echoingStore fails the operation named, echoing what it was given.
type echoingStore struct {
	store.Store
	failOn string
	armed  bool          // fail only once the users are seeded
	code   func() string // the code in the phone's hand, which a store never sees but a log could
}

func (s *echoingStore) AddUser(ctx context.Context, u store.User) error {
	return s.Store.(interface {
		AddUser(context.Context, store.User) error
	}).AddUser(ctx, u)
}

func (s *echoingStore) UserByPhone(ctx context.Context, tenant, phone string) (store.User, error) {
	if s.armed && s.failOn == "panic" {
		panic(fmt.Sprintf("nil map in lookup of %s (session %s)", phone, leakToken))
	}
	return s.Store.UserByPhone(ctx, tenant, phone)
}

func (s *echoingStore) IssueChallenge(ctx context.Context, iss store.Issue) (store.Issued, error) {
	if c := iss.Challenge; s.armed && s.failOn == "IssueChallenge" {
		return store.Issued{}, fmt.Errorf("pq: duplicate key (tenant_id, phone)=(%s, %s) session %s", c.TenantID, c.Phone, leakToken)
	}
	return s.Store.IssueChallenge(ctx, iss)
}

func (s *echoingStore) CheckCode(ctx context.Context, a store.Attempt) (store.Verdict, error) {
	if s.armed && s.failOn == "CheckCode" {
		return store.Verdict{}, fmt.Errorf("redis: EVALSHA for %s code %s: connection reset (session %s)", a.Check.Phone, s.code(), leakToken)
	}
	return s.Store.CheckCode(ctx, a)
}

type echoingHasher struct{ otpreset.PasswordHasher }

func (echoingHasher) Hash(_ context.Context, pw string) (string, error) {
	return "", fmt.Errorf("hasher: out of memory hashing %q", pw)
}

type echoingTokens struct{}

func (echoingTokens) Issue(_ context.Context, _ *otpreset.Tenant, u store.User, _ time.Time) (otpreset.Tokens, error) {
	return otpreset.Tokens{}, fmt.Errorf("jwt: signing for %s with kid %s failed", u.Phone, leakToken)
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s)) //nolint:gosec
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// TestErrorsScrubbed: host code (store, sender, captcha verifier, breach
// checker, hasher, token issuer, webhook sink, tenant resolver, a panic)
// returns errors that hold a phone number, the code, the new password, its
// hash and tokens. Every log line and every span name, attribute, event and
// status is read: none holds any of them, and each fault is still there,
// named, with the phone masked and the code marked as removed.
func TestErrorsScrubbed(t *testing.T) {
	hash := sha1Hex(leakPassword)
	type run struct {
		name string
		// setup changes the env's config; the sender and store are the
		// echoing ones.
		setup func(c *otpreset.Config, tn *otpreset.Tenant, st *echoingStore)
		// act makes the requests; code reads the last code sent.
		act func(t *testing.T, env *otpresettest.Env, code func() string)
		// want are a log line's and a span text's fragments that show the
		// fault was reported.
		wantLog, wantSpan string
	}
	reset := func(t *testing.T, env *otpresettest.Env, code func() string, status int) {
		require.Equal(t, 200, env.Send(leakPhone).Code)
		assert.Equal(t, status, env.Reset(leakPhone, code(), leakPassword).Code)
	}
	runs := []run{
		{name: "sender", act: func(t *testing.T, env *otpresettest.Env, _ func() string) {
			assert.Equal(t, 200, env.Send(leakPhone).Code)
		}, wantLog: "SMS provider failed", wantSpan: "sms.Send event exception exception.message=provider said 400 for To=+91******3210 Body="},
		{name: "notice sender", act: func(t *testing.T, env *otpresettest.Env, code func() string) {
			reset(t, env, code, 200)
		}, wantLog: "reset notice not sent", wantSpan: "sms.SendNotice status: provider said 400"},
		{name: "store on send", setup: func(_ *otpreset.Config, _ *otpreset.Tenant, st *echoingStore) { st.failOn = "IssueChallenge" },
			act: func(t *testing.T, env *otpresettest.Env, _ func() string) {
				assert.Equal(t, 500, env.Send(leakPhone).Code)
			}, wantLog: "step=issue code err=otpreset: issue code: pq: duplicate key (tenant_id, phone)=(test-tenant, +91******3210) session [token]", wantSpan: "store.IssueCode status: pq: duplicate key (tenant_id, phone)=(test-tenant, +91******3210)"},
		{name: "store on reset", setup: func(_ *otpreset.Config, _ *otpreset.Tenant, st *echoingStore) { st.failOn = "CheckCode" },
			act:     func(t *testing.T, env *otpresettest.Env, code func() string) { reset(t, env, code, 500) },
			wantLog: "code [redacted]: connection reset (session [token])", wantSpan: "store.CheckCode status: redis: EVALSHA for +91******3210 code [digits]"},
		{name: "store panics", setup: func(_ *otpreset.Config, _ *otpreset.Tenant, st *echoingStore) { st.failOn = "panic" },
			act: func(t *testing.T, env *otpresettest.Env, _ func() string) {
				assert.Equal(t, 500, env.Send(leakPhone).Code)
			}, wantLog: "panic=nil map in lookup of +91******3210 (session [token])"},
		{name: "breach checker", setup: func(_ *otpreset.Config, tn *otpreset.Tenant, _ *echoingStore) {
			tn.Breach = password.BreachCheckerFunc(func(_ context.Context, pw string) (bool, error) {
				return false, fmt.Errorf("%w: range %s for %q: timeout", password.ErrUnavailable, sha1Hex(pw), pw)
			})
		}, act: func(t *testing.T, env *otpresettest.Env, code func() string) { reset(t, env, code, 500) },
			wantLog: "step=breach check err=otpreset", wantSpan: "password.Breached status: password: breach checker unavailable (message withheld"},
		{name: "hasher", setup: func(c *otpreset.Config, _ *otpreset.Tenant, _ *echoingStore) {
			c.Hasher = echoingHasher{c.Hasher}
		}, act: func(t *testing.T, env *otpresettest.Env, code func() string) { reset(t, env, code, 500) },
			wantLog: `out of memory hashing "[redacted]"`, wantSpan: "password.Hash status: fault (message withheld"},
		{name: "token issuer", setup: func(c *otpreset.Config, _ *otpreset.Tenant, _ *echoingStore) { c.Tokens = echoingTokens{} },
			act:     func(t *testing.T, env *otpresettest.Env, code func() string) { reset(t, env, code, 500) },
			wantLog: "jwt: signing for +91******3210 with kid [token] failed"},
		{name: "webhook sink", setup: func(c *otpreset.Config, _ *otpreset.Tenant, _ *echoingStore) {
			c.Webhooks = webhook.SinkFunc(func(_ context.Context, e webhook.Event) error {
				return fmt.Errorf("queue: refused %s", e.Data)
			})
		}, act: func(t *testing.T, env *otpresettest.Env, code func() string) { reset(t, env, code, 200) },
			wantLog: `"PhoneId":"+91******3210"`},
		{name: "after-reset hook", setup: func(c *otpreset.Config, _ *otpreset.Tenant, _ *echoingStore) {
			c.AfterReset = func(_ context.Context, e otpreset.ResetEvent) {
				panic(fmt.Sprintf("sessions: revoking %s of %s (%s) failed", leakToken, e.UserID, leakPhone))
			}
		}, act: func(t *testing.T, env *otpresettest.Env, code func() string) { reset(t, env, code, 200) },
			wantLog: "panic=sessions: revoking [token] of [token] (+91******3210) failed"},
		{name: "captcha verifier", setup: func(_ *otpreset.Config, tn *otpreset.Tenant, _ *echoingStore) {
			tn.Captcha = otpreset.CaptchaPolicy{Mode: otpreset.CaptchaAlways, Verifier: captchaFunc(func(_ context.Context, tok captcha.Token) error {
				return fmt.Errorf("%w: token %s from %s for %s", captcha.ErrUnavailable, tok.Response, tok.RemoteIP, leakPhone)
			})}
		}, act: func(t *testing.T, env *otpresettest.Env, _ func() string) {
			rec := env.Do(http.MethodPost, otpreset.Path+"?apikey="+otpresettest.APIKey+"&g-recaptcha-response="+leakCaptcha,
				map[string]string{"phone": leakPhone}, nil)
			assert.Equal(t, 403, rec.Code)
		}, wantLog: "reason=captcha unavailable", wantSpan: "captcha.Verify otpreset.captcha=unavailable"},
		{name: "tenant resolver", setup: func(c *otpreset.Config, _ *otpreset.Tenant, _ *echoingStore) {
			c.Tenants = resolverFunc(func(_ context.Context, key string) (*otpreset.Tenant, error) {
				return nil, fmt.Errorf("tenants: lookup of %s: timeout", key)
			})
		}, act: func(t *testing.T, env *otpresettest.Env, _ func() string) {
			rec := env.Do(http.MethodPost, otpreset.Path+"?apikey="+leakAPIKey, map[string]string{"phone": leakPhone}, nil)
			assert.Equal(t, 500, rec.Code)
		}, wantLog: "tenants: lookup of [token]: timeout"},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			logs := newCapture()
			rec := tracetest.NewSpanRecorder()
			sender := &echoingSender{}
			st := &echoingStore{code: sender.code}
			env := otpresettest.New(t, func(c *otpreset.Config, tn *otpreset.Tenant) {
				st.Store = c.Store
				c.Store, c.Sender = st, sender
				c.Logger = slog.New(logs)
				c.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
				if r.setup != nil {
					r.setup(c, tn, st)
				}
			})
			env.AddUser(leakPhone, "old password 1")
			st.armed = true
			r.act(t, env, sender.code)
			// The SMS and the notice fail in the background: wait for the
			// fault's report, then read everything.
			has := func(texts []string, want string) bool {
				return want == "" || slices.ContainsFunc(texts, func(l string) bool { return strings.Contains(l, want) })
			}
			var lines, texts []string
			reported := func() bool {
				lines, texts = logs.Lines(), spanTexts(rec.Ended())
				return has(lines, r.wantLog) && has(texts, r.wantSpan)
			}
			for deadline := time.Now().Add(5 * time.Second); !reported() && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			assert.True(t, has(lines, r.wantLog), "no log line holds %q:\n%s", r.wantLog, strings.Join(lines, "\n"))
			assert.True(t, has(texts, r.wantSpan), "no span holds %q:\n%s", r.wantSpan, strings.Join(texts, "\n"))

			secrets := []string{
				leakPhone, strings.TrimPrefix(leakPhone, "+91"), "987654", // the phone, also written without '+'
				leakPassword, hash, hash[:5], leakToken, leakCaptcha, leakAPIKey,
			}
			sender.mu.Lock()
			for _, m := range sender.sent {
				if m.Code != "" { // the notice has none
					secrets = append(secrets, m.Code)
				}
			}
			sender.mu.Unlock()
			for _, text := range append(slices.Clone(lines), texts...) {
				assert.LessOrEqual(t, len(text), 4096, "bounded: %.200s", text)
				for _, secret := range secrets {
					assert.NotContains(t, text, secret, "%q leaks through %q", secret, text)
				}
			}
		})
	}
}

type captchaFunc func(context.Context, captcha.Token) error

func (f captchaFunc) Verify(ctx context.Context, t captcha.Token) error { return f(ctx, t) }

// TestSpanNameFixed: the request's span is named for its endpoint, decided
// from method and path, whatever the method says or however long it is,
// and the same as its otpreset.endpoint attribute.
func TestSpanNameFixed(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	env := otpresettest.New(t, func(c *otpreset.Config, _ *otpreset.Tenant) {
		c.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	})
	long := strings.Repeat("M", 60_000)
	tests := []struct{ method, path, want string }{
		{"POST", otpreset.Path, "otpreset send"},
		{"POST", "/api" + otpreset.Path + "/", "otpreset send"},
		{"PUT", otpreset.Path, "otpreset reset"},
		{"GET", otpreset.Path, "otpreset other"},
		{"PHONE_919999999999_CODE_123456", otpreset.Path, "otpreset other"},
		{long, otpreset.Path, "otpreset other"},
		{"POST", "/elsewhere", "otpreset other"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("POST", tt.path+"?apikey="+otpresettest.APIKey, strings.NewReader(`{"phone":"+919999999999"}`))
		req.Method = tt.method
		req.Header.Set("Content-Type", "application/json")
		env.Handler.ServeHTTP(httptest.NewRecorder(), req)
		spans := rec.Ended()
		require.NotEmpty(t, spans)
		last := spans[len(spans)-1]
		assert.Equal(t, tt.want, last.Name(), "%.40s %s", tt.method, tt.path)
		for _, a := range last.Attributes() {
			if a.Key == "otpreset.endpoint" {
				assert.Equal(t, tt.want, "otpreset "+a.Value.AsString(), "the name and the endpoint agree")
			}
		}
		for _, text := range spanTexts(spans) {
			assert.NotContains(t, text, "PHONE_")
			assert.NotContains(t, text, "MMMM")
		}
	}
}

// TestLoggerScrubsEveryHandler: the scrubbing wraps whatever handler the
// host configured, With and groups included, and leaves other values alone
// but for a bound on their length.
func TestLoggerScrubsEveryHandler(t *testing.T) {
	logs := newCapture()
	env := otpresettest.New(t, func(c *otpreset.Config, _ *otpreset.Tenant) {
		c.Logger = slog.New(logs).With("host", "a").WithGroup("g")
		c.Store = &echoingStore{Store: c.Store, failOn: "IssueChallenge", armed: true}
	})
	env.AddUser(leakPhone, "old password 1")
	assert.Equal(t, 500, env.Send(leakPhone).Code)
	// A template name is the client's: it is logged, bounded.
	long := strings.Repeat("t", 100_000)
	env2 := otpresettest.New(t, func(c *otpreset.Config, _ *otpreset.Tenant) { c.Logger = slog.New(logs) })
	env2.AddUser(leakPhone, "old password 1")
	rec := env2.Do(http.MethodPost, otpreset.Path+"?apikey="+otpresettest.APIKey+"&smstemplate="+long, map[string]string{"phone": leakPhone}, nil)
	assert.Equal(t, 200, rec.Code)

	lines := logs.Lines()
	require.NotEmpty(t, lines)
	var fault, template bool
	for _, l := range lines {
		assert.NotContains(t, l, "9876543210")
		assert.NotContains(t, l, leakToken)
		assert.Less(t, len(l), 2048, "%.100s", l)
		fault = fault || strings.Contains(l, "host=a") && strings.Contains(l, "+91******3210) session [token]")
		template = template || strings.Contains(l, "template=tttt")
	}
	assert.True(t, fault, "the fault is logged through the host's handler:\n%s", strings.Join(lines, "\n"))
	assert.True(t, template, "the template name is logged, bounded:\n%s", strings.Join(lines, "\n"))
}
