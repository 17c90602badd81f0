package otpreset

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/webhook"
)

// Path is where the two endpoints are served. The handler answers any request
// whose path ends with Path, so it can be mounted under a prefix unchanged.
const Path = "/identity/v2/auth/password/otp"

// Defaults applied by New and by Tenant fields left zero.
const (
	DefaultCodeLength      = 6
	DefaultCodeTTL         = 300 * time.Second
	DefaultMaxCodeAttempts = 5
	DefaultSessionLifetime = time.Hour
	DefaultMaxBodyBytes    = 64 << 10
	DefaultMinSendDuration = 400 * time.Millisecond
	DefaultSendTimeout     = 30 * time.Second
)

// Config configures a Handler. Store, Sender, Tenants and Secret are
// required; everything else has a safe default.
type Config struct {
	// Store keeps users, codes and sessions. Required.
	Store store.Store
	// Sender delivers codes. Required (sms.LogSender for development).
	Sender sms.Sender
	// Tenants maps API keys to tenants. Required (Tenants is a ready map).
	Tenants TenantResolver
	// Secret keys the HMAC under which codes are stored; at least 32 random
	// bytes, the same on every instance sharing a store. Required.
	Secret []byte

	// Hasher hashes new passwords. Default: argon2id with OWASP's parameters,
	// at most GOMAXPROCS hashes at once.
	Hasher PasswordHasher
	// Tokens issues the access and refresh tokens of the new session.
	// Default: random opaque tokens, stored hashed.
	Tokens TokenIssuer
	// Webhooks receives ResetPassword events. Default: webhook.Discard.
	Webhooks webhook.Sink
	// WebhookOutbox writes ResetPassword events into the store inside the
	// reset's transaction (store must implement store.Resetter and
	// store.Outbox) instead of handing them to Webhooks; a webhook.Dispatcher
	// delivers them. Events then survive a crash right after the commit.
	WebhookOutbox bool
	// Clock tells the time. Default: the system clock.
	Clock Clock
	// Rand is the source of codes and ids. Default: crypto/rand.
	Rand io.Reader
	// Logger receives one line per refusal and fault; it never sees a code,
	// a password, a hash or a whole phone number. Default: slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies. Default 64 KiB.
	MaxBodyBytes int64
	// Limiter enforces rate limits and lockouts. Default: NewLimiter with an
	// in-memory store (use a shared store when running several instances).
	Limiter *Limiter
	// MinSendDuration pads every answer of the send endpoint to at least
	// this long, known phone or not, so its timing does not tell whether the
	// phone exists (an SMS provider takes hundreds of milliseconds, an unknown
	// phone takes none). When the provider is slower than this, the answer
	// goes out on time with a Sid of the same form and the SMS completes in
	// the background. Default DefaultMinSendDuration; negative disables.
	MinSendDuration time.Duration
	// SendTimeout bounds one call to the Sender. Default 30 s.
	SendTimeout time.Duration
	// Observer receives counts and timings for metrics. Default: none.
	Observer Observer
	// ClientIP tells a request's client address. Default: the connection's
	// address; see TrustedProxies for X-Forwarded-For.
	ClientIP func(*http.Request) string
}

// Clock tells the time; inject a fixed one in tests.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// SystemClock is the real clock.
var SystemClock Clock = systemClock{}

// ErrUnknownAPIKey is returned by a TenantResolver for a key it does not know.
var ErrUnknownAPIKey = errors.New("otpreset: unknown API key")

// TenantResolver finds the tenant an API key belongs to.
type TenantResolver interface {
	// ResolveTenant returns the tenant of apiKey, or an error wrapping
	// ErrUnknownAPIKey. Other errors are faults (950).
	ResolveTenant(ctx context.Context, apiKey string) (*Tenant, error)
}

// Tenants is a fixed TenantResolver: API key -> tenant.
type Tenants map[string]*Tenant

// ResolveTenant implements TenantResolver.
func (t Tenants) ResolveTenant(_ context.Context, apiKey string) (*Tenant, error) {
	if tn, ok := t[apiKey]; ok && tn != nil {
		return tn, nil
	}
	return nil, ErrUnknownAPIKey
}

// CaptchaMode says when a tenant asks for a captcha.
type CaptchaMode int

const (
	// CaptchaOff never asks (unless the lockout type is LockoutCaptcha).
	CaptchaOff CaptchaMode = iota
	// CaptchaAlways asks on every send and reset.
	CaptchaAlways
	// CaptchaAfterFailures asks once a phone has Lockout.Attempts failed
	// codes (LoginRadius's 1132).
	CaptchaAfterFailures
)

// LockoutType says what happens to a phone after too many failed codes.
type LockoutType int

const (
	// LockoutSuspend refuses resets (1198) until the lockout window passes.
	LockoutSuspend LockoutType = iota
	// LockoutCaptcha asks for a captcha (1132) until one is solved.
	LockoutCaptcha
)

// Tenant is one application's configuration, selected by its API key. Zero
// fields take the documented defaults.
type Tenant struct {
	// ID keys the tenant's users, codes and limits. Required.
	ID string
	// AppName and Domain fill SMS templates; Domain (e.g. "example.com")
	// also adds the autofill line "@example.com #123456".
	AppName string
	Domain  string

	CodeLength      int           // digits, 4 to 10; default 6
	CodeTTL         time.Duration // default 300 s
	MaxCodeAttempts int           // wrong tries per code; default 5
	SessionLifetime time.Duration // of the session a reset issues; default 1 h

	// SMSTemplates are the tenant's named templates (smstemplate); nil uses
	// sms.DefaultTemplate.
	SMSTemplates *sms.Templates
	// AccountSid is shown as Data.AccountSid when no message was sent (an
	// unknown phone); default: the AccountSid of the tenant's last real
	// receipt, so both answers look alike.
	AccountSid string

	// Captcha is the tenant's Bot Protection.
	Captcha CaptchaPolicy
	// Password is the policy for new passwords (NIST SP 800-63B defaults).
	Password password.Policy
	// Breach, when set, refuses passwords found in a breach corpus (1315).
	Breach password.BreachChecker
	// Limits are the tenant's rate limits and lockout; zero fields default.
	Limits Limits
	// Pumping guards against SMS pumping (toll fraud).
	Pumping SMSPumping
	// RejectPreviousPassword refuses (1134) a new password equal to the
	// current one. It costs one more argon2id comparison per reset.
	RejectPreviousPassword bool

	// DetailedErrors answers LoginRadius's catalogue (1067, 1068, 1069, 1070,
	// 938) instead of one 1409 for every failing phone/code pair. It tells
	// callers which phones exist: off by default.
	DetailedErrors bool
	// RevealUnknownPhone answers 403/1043 to a send for an unknown phone, as
	// LoginRadius does. It tells callers which phones exist: off by default.
	RevealUnknownPhone bool
	// ReportSendFailure answers 403/1072 when the SMS provider fails, as
	// LoginRadius does. Off by default: the failure would reveal the phone
	// exists, so the answer is the usual 200 and the failure is logged.
	ReportSendFailure bool
	// LegacyResetAnswer answers {"IsPosted": true} to a reset, without a new
	// session, like LoginRadius's older API.
	LegacyResetAnswer bool
}

// CaptchaPolicy is a tenant's Bot Protection.
type CaptchaPolicy struct {
	Mode CaptchaMode
	// Verifier checks tokens (captcha/recaptcha, captcha/hcaptcha, ...).
	// Required unless Mode is CaptchaOff and the lockout type is not
	// LockoutCaptcha.
	Verifier captcha.Verifier
}
