package otpreset

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/ulule/limiter/v3"
	"go.opentelemetry.io/otel/trace"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/webhook"
)

// Path is where the two endpoints are served. The handler answers any request
// whose path ends with Path, so it can be mounted under a prefix unchanged.
const Path = "/identity/v2/auth/password/otp"

// ErrInvalidConfig is wrapped by every error New returns for a Config or a
// Tenant it refuses, and by the log line of a dynamically resolved tenant
// that fails the same checks.
var ErrInvalidConfig = errors.New("otpreset: invalid configuration")

// Config configures a Handler. Store, Sender, Tenants and Secret are
// required; every other field has a safe default, documented on the field.
type Config struct {
	// Store keeps users, codes and sessions. Required.
	Store store.Store
	// Sender delivers codes. Required (sms.LogSender for development).
	Sender sms.Sender
	// Tenants maps API keys to tenants. Required. A Tenants map is checked
	// whole by New; any other TenantResolver's tenants are checked when first
	// resolved.
	Tenants TenantResolver
	// Secret keys the HMAC under which codes are stored: at least 32 random
	// bytes (e.g. `openssl rand -hex 32`, decoded), the same on every
	// instance sharing a store. Required; New refuses one that is plainly
	// not random (few distinct bytes, or one short pattern repeated).
	Secret []byte

	// Hasher hashes new passwords. Default: password.NewArgon2idHasher with
	// OWASP's parameters, at most GOMAXPROCS hashes at once.
	Hasher PasswordHasher
	// Tokens issues the access and refresh tokens of the new session.
	// Default: random opaque tokens, stored hashed (see TokenHash).
	Tokens TokenIssuer
	// AfterReset, when set, is called once after each successful reset is
	// committed and before the answer is written, with the tenant, the user
	// and the time: the place to end the host's own sessions of that user
	// (scs, Redis, JWT token versions). Nothing a client sends suppresses it
	// (prevent_webhook suppresses webhook deliveries only). It runs on the
	// request's goroutine with a context detached from the client's
	// connection (bounded by ApplyTimeout): keep it short. A panic in it is
	// recovered and logged, and the reset stays done. Nil: no call.
	AfterReset func(ctx context.Context, e ResetEvent)
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
	// Logger receives one line per refusal and fault. The handler never
	// logs a code, a password, a hash or a whole phone number, and every
	// error of host code reaches it through one scrubber (phones masked,
	// digit runs and token-like strings removed, length bounded). Nil
	// means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies. Default 64 KiB.
	MaxBodyBytes int64
	// RateLimitStore counts the rate limits and the lockout. Default: in
	// memory, for one instance; instances that share a store must share this
	// too (redisstore.NewLimiterStore).
	RateLimitStore limiter.Store
	// MinSendDuration pads every answer of the send endpoint to at least
	// this long, known phone or not, so its timing does not tell whether the
	// phone exists (an SMS provider takes hundreds of milliseconds, an unknown
	// phone takes none). When the provider is slower than this, the answer
	// goes out on time with a Sid of the same form and the SMS completes in
	// the background. Default 400 ms; negative disables.
	MinSendDuration time.Duration
	// SendTimeout bounds one call to the Sender. Default 30 s.
	SendTimeout time.Duration
	// ApplyTimeout bounds the store work of a successful reset (consume the
	// code, replace the password, revoke and create sessions), which runs
	// detached from the client's connection so that a client going away
	// cannot leave it half done. Default 30 s.
	ApplyTimeout time.Duration
	// Observer receives counts and timings for metrics. Default: none.
	Observer Observer
	// ClientIP tells a request's client address. Default: the connection's
	// address; see TrustedProxies for a proxy's forwarding header.
	ClientIP func(*http.Request) string
	// TracerProvider, when set, traces every request (OpenTelemetry): a
	// span per request with its outcome, and child spans for store calls,
	// the SMS, the captcha and breach checks and the argon2id hash (with its
	// wait for a hashing slot). No attribute holds a phone number, a code, a
	// password, a token or a hash. Nil: no tracing, at no cost; pass
	// otel.GetTracerProvider() to use the global one.
	TracerProvider trace.TracerProvider
	// IPv6PrefixBits is the network an IPv6 client is counted by in the
	// per-IP limits: one subscriber holds a whole /64 and can rotate
	// addresses inside it. IPv4 clients count by address. Default 64.
	IPv6PrefixBits int
}

// Defaults of Config and Tenant fields left zero.
const (
	defaultCodeLength      = 6
	defaultCodeTTL         = 300 * time.Second
	defaultMaxCodeAttempts = 5
	defaultSessionLifetime = time.Hour
	defaultMaxBodyBytes    = 64 << 10
	defaultMinSendDuration = 400 * time.Millisecond
	defaultSendTimeout     = 30 * time.Second
	defaultApplyTimeout    = 30 * time.Second
	defaultIPv6PrefixBits  = 64
)

// ResetEvent is what Config.AfterReset is told of a committed reset.
type ResetEvent struct {
	TenantID string
	UserID   string
	// At is when the password was changed (the handler's clock).
	At time.Time
}

// Clock tells the time; inject a fixed one in tests (otpresettest.Clock).
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// ErrUnknownAPIKey is returned by a TenantResolver for a key it does not know.
var ErrUnknownAPIKey = errors.New("otpreset: unknown API key")

// TenantResolver finds the tenant an API key belongs to. The handler keeps
// the checked settings of each *Tenant it is given, so return a new *Tenant,
// rather than changing one in place, to change a tenant's settings.
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
	// CaptchaAfterFailures asks once a phone has Limits.LockoutAttempts
	// failed codes (LoginRadius's 1132).
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
// fields take the defaults documented on each field. New refuses a tenant
// whose fields are out of range (ErrInvalidConfig).
type Tenant struct {
	// ID keys the tenant's users, codes and limits. Required.
	ID string
	// AppName and Domain fill SMS templates; Domain, a bare host name
	// ("example.com", not a URL), also adds the autofill line "@example.com #123456".
	AppName string
	Domain  string

	CodeLength      int           // digits, 4 to 10; default 6
	CodeTTL         time.Duration // 1 minute to 1 hour; default 300 s
	MaxCodeAttempts int           // wrong tries per code, at most 10; default 5 (-1: no limit, load tests only)
	SessionLifetime time.Duration // of the session a reset issues; default 1 h

	// SMSTemplates are the tenant's named templates (smstemplate); nil uses
	// sms.DefaultTemplate.
	SMSTemplates *sms.Templates
	// AccountSid is Data.AccountSid in every send answer of the tenant,
	// whichever sender served it and whether or not the phone exists.
	// Default: a stable id derived from Config.Secret and the tenant ID.
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

	// Channel is how codes travel: sms.ChannelSMS (default) or
	// sms.ChannelWhatsApp, which needs a Sender that routes channels (see
	// sms.ChannelFallback for WhatsApp with SMS as fallback).
	Channel sms.Channel
	// NoResetNotice turns off the SMS that tells a phone's owner, after
	// every successful reset, that the password was changed (on by default,
	// as NIST SP 800-63B asks; worded by SMSTemplates' notice, which
	// resetpasswordsmstemplate names).
	NoResetNotice bool
	// Support is where the notice tells an owner to turn if the change was
	// not theirs (a phone number, an address, a help page).
	Support string
}

// CaptchaPolicy is a tenant's Bot Protection.
type CaptchaPolicy struct {
	Mode CaptchaMode
	// Verifier checks tokens (captcha/recaptcha, captcha/hcaptcha, ...).
	// Required unless Mode is CaptchaOff and the lockout type is not
	// LockoutCaptcha.
	Verifier captcha.Verifier
}

// Limits are a tenant's rate limits, lockout and caps, each rate a readable
// "N-P" where P is S, M, H or D with an optional multiplier: "3-15M" is 3
// per 15 minutes. Empty fields take the defaults below; "off" disables one
// limit. New refuses a rate it cannot parse. README "Security model" says
// what each counts and why.
type Limits struct {
	// SendPerPhone limits the codes one client network (an IPv4 address, an
	// IPv6 /64) asks for one phone, in the shared store: another network,
	// the owner's, is not limited by it. Default "3-15M".
	SendPerPhone string
	// SendPerIP and ResetPerIP limit all requests of one client network to
	// each endpoint (429, ErrorCode 429). Defaults "20-1H" and "60-1H".
	SendPerIP  string
	ResetPerIP string
	// SMSPerPhoneDay is how many SMS of one phone a day, every network
	// together, count toward the caps below: no cap can be exhausted by a
	// few phones. Past it, the phone's SMS ask for a captcha where the
	// tenant has a verifier, and go out uncounted where it has none (never
	// silenced: that would let anyone silence the owner; SendPerPhone still
	// limits each network). Default "10-1D".
	SMSPerPhoneDay string
	// SMSPerTenantDay caps the tenant's SMS a day. Default "10000-1D". A
	// send over a cap asks for a captcha where the tenant has a verifier,
	// and is answered like one to an unknown phone without one: size the
	// cap above the tenant's busiest day (README "Security model").
	SMSPerTenantDay string

	// The lockout, per phone and client network: every LockoutAttempts
	// wrong codes from one network lock that network out of the phone, for
	// LockoutWindow the first time and twice as long each time after, up to
	// MaxLockout, until the phone's next successful reset (or
	// Handler.Unlock). Defaults: 5, 15 minutes, 24 hours.
	LockoutAttempts int
	LockoutWindow   time.Duration
	MaxLockout      time.Duration
	// LockoutType: LockoutSuspend (1198, default) or LockoutCaptcha (1132:
	// a locked network goes on with a freshly solved captcha per attempt).
	LockoutType LockoutType
	// GuessBudget and GuessBurst are the phone's guessing budget, every
	// network together: at most GuessBudget wrong codes per period at a
	// steady rate after a first burst of GuessBurst, so at most their sum
	// in any period. Once it is spent, a tenant with a captcha verifier asks
	// every attempt for a freshly solved captcha; one without refuses (1198)
	// until the budget allows again. One network alone never spends it
	// (its lockout lets through at most 180 codes in 30 days). Defaults
	// "200-30D" and 100: at most 300 comparisons per phone in 30 days.
	GuessBudget string
	GuessBurst  int
}

// SMSPumping guards a tenant against SMS pumping (toll fraud): attackers who
// ask for codes to premium or foreign numbers they are paid for. A refused
// number gets the same answer as an unknown one: no SMS, no hint.
type SMSPumping struct {
	// AllowedCallingCodes, when not empty, is the only set of country
	// calling codes (91 for India, 1 for NANP) codes are sent to.
	AllowedCallingCodes []int
	// PrefixDailyCap caps SMS per number prefix (the first PrefixDigits
	// digits of the E.164 number) as a rate; default "200-1D", "off" to
	// disable. Pumping rings use blocks of consecutive numbers.
	PrefixDailyCap string
	// PrefixDigits is the prefix length in digits (country code included);
	// default 6.
	PrefixDigits int
	// AllowNonMobile sends to numbers that phonenumbers says are not mobile
	// (fixed line, premium rate, toll free, shared cost, VoIP, pager, UAN,
	// voicemail). Off by default: a reset code goes to a phone that reads
	// SMS. Numbers whose type cannot be told are allowed.
	AllowNonMobile bool
}

// PasswordHasher turns a new password into a stored hash. The default is
// password.NewArgon2idHasher; a host whose login checks another format plugs
// in its own.
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	// Compare reports whether password matches hash.
	Compare(ctx context.Context, password, hash string) (bool, error)
}
