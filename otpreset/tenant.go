package otpreset

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ulule/limiter/v3"

	"github.com/otpreset/go/store"
)

// Default limits, as documented on Limits and SMSPumping.
const (
	defaultSendPerPhone    = "3-15M"
	defaultSendPerIP       = "20-1H"
	defaultSMSPerPhoneDay  = "10-1D"
	defaultSMSPerTenantDay = "10000-1D"
	defaultResetPerIP      = "60-1H"
	defaultLockoutAttempts = 5
	defaultLockoutWindow   = 15 * time.Minute
	defaultMaxLockout      = 24 * time.Hour
	defaultGuessBudget     = "200-30D"
	defaultGuessBurst      = 100
	// guessRetention is how long a network's failures are kept without a
	// new one: at least the 30 days the budget is stated over.
	guessRetention        = 30 * 24 * time.Hour
	defaultPrefixDailyCap = "200-1D"
	defaultPrefixDigits   = 6
)

// settings is a Tenant checked once: a copy of it with every default
// applied (withDefaults, the one place defaults live), and what is derived
// from it once. The request path reads only these, never the Tenant it was
// given.
type settings struct {
	Tenant
	sendLog  *slog.Logger // the handler's, with the tenant and endpoint
	resetLog *slog.Logger

	// lockoutCaptcha: a locked network may go on with a valid captcha
	// (1132) instead of waiting (1198).
	lockoutCaptcha bool
	guesses        store.GuessPolicy // the lockout per network and the phone's budget
	sendLimit      store.SendLimit   // SendPerPhone, per phone and network

	sendPerIP, resetPerIP           rate
	smsPerPhoneDay, smsPerTenantDay rate
	prefixCap                       rate
	prefixMarker                    rate // marks a phone counted in its prefix's cap for the cap's period
}

// withDefaults is t with every zero field given its default: the one place
// a Tenant's defaults are applied (each is documented on its field).
// AccountSid's default is derived from the secret.
func withDefaults(t Tenant, secret []byte) Tenant {
	t.CodeLength = orDefault(t.CodeLength, defaultCodeLength)
	t.CodeTTL = orDefault(t.CodeTTL, defaultCodeTTL)
	t.MaxCodeAttempts = codeAttempts(t.MaxCodeAttempts)
	t.SessionLifetime = orDefault(t.SessionLifetime, defaultSessionLifetime)
	if t.AccountSid == "" {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("account-sid\x00" + t.ID))
		t.AccountSid = "AC" + hex.EncodeToString(m.Sum(nil)[:16])
	}
	if isNil(t.Captcha.Verifier) {
		t.Captcha.Verifier = nil
	}
	l := &t.Limits
	for _, r := range []struct {
		field *string
		def   string
	}{
		{&l.SendPerPhone, defaultSendPerPhone}, {&l.SendPerIP, defaultSendPerIP},
		{&l.SMSPerPhoneDay, defaultSMSPerPhoneDay}, {&l.SMSPerTenantDay, defaultSMSPerTenantDay},
		{&l.ResetPerIP, defaultResetPerIP}, {&l.GuessBudget, defaultGuessBudget},
		{&t.Pumping.PrefixDailyCap, defaultPrefixDailyCap},
	} {
		if *r.field == "" {
			*r.field = r.def
		}
	}
	l.LockoutAttempts = orDefault(l.LockoutAttempts, defaultLockoutAttempts)
	l.LockoutWindow = orDefault(l.LockoutWindow, defaultLockoutWindow)
	l.MaxLockout = max(orDefault(l.MaxLockout, defaultMaxLockout), l.LockoutWindow)
	l.GuessBurst = orDefault(l.GuessBurst, defaultGuessBurst)
	t.Pumping.PrefixDigits = orDefault(t.Pumping.PrefixDigits, defaultPrefixDigits)
	t.Pumping.AllowedCallingCodes = append([]int(nil), t.Pumping.AllowedCallingCodes...)
	return t
}

// resolveSettings checks t, the tenant of apiKey (named in errors by
// maskAPIKey), and applies its defaults; secret derives the
// default AccountSid and log is the handler's. Every error wraps
// ErrInvalidConfig.
func resolveSettings(apiKey string, t *Tenant, secret []byte, log *slog.Logger) (*settings, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: nil Tenant (API key %q)", ErrInvalidConfig, maskAPIKey(apiKey))
	}
	s := &settings{Tenant: withDefaults(*t, secret)}
	l := s.Limits
	s.lockoutCaptcha = l.LockoutType == LockoutCaptcha || s.Captcha.Mode == CaptchaAfterFailures
	s.guesses = store.GuessPolicy{Attempts: l.LockoutAttempts, Lockout: l.LockoutWindow, MaxLockout: l.MaxLockout,
		Retain: max(guessRetention, 2*l.MaxLockout), BudgetBurst: l.GuessBurst}
	problems := []error{checkRanges(t), checkTenant(apiKey, t)}
	var sendPerPhone, guessBudget rate
	for _, r := range []struct {
		dst        *rate
		field, val string
	}{
		{&sendPerPhone, "Limits.SendPerPhone", l.SendPerPhone},
		{&s.sendPerIP, "Limits.SendPerIP", l.SendPerIP},
		{&s.smsPerPhoneDay, "Limits.SMSPerPhoneDay", l.SMSPerPhoneDay},
		{&s.smsPerTenantDay, "Limits.SMSPerTenantDay", l.SMSPerTenantDay},
		{&s.resetPerIP, "Limits.ResetPerIP", l.ResetPerIP},
		{&guessBudget, "Limits.GuessBudget", l.GuessBudget},
		{&s.prefixCap, "Pumping.PrefixDailyCap", s.Pumping.PrefixDailyCap},
	} {
		var err error
		if *r.dst, err = parseRate(r.val, ""); err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", r.field, err))
		}
	}
	if !sendPerPhone.off {
		s.sendLimit = store.SendLimit{Limit: int(sendPerPhone.Limit), Period: sendPerPhone.Period}
	}
	if !guessBudget.off {
		s.guesses.Budget, s.guesses.BudgetWindow = int(guessBudget.Limit), guessBudget.Period
	}
	s.prefixMarker = rate{off: true}
	if !s.prefixCap.off {
		s.prefixMarker = rate{Rate: limiter.Rate{Formatted: "prefix-phone", Period: s.prefixCap.Period, Limit: 1}}
	}
	if err := t.Password.Validate(); err != nil {
		problems = append(problems, fmt.Errorf("%s: %w", "Password", err))
	}
	if (s.Captcha.Mode != CaptchaOff || s.lockoutCaptcha) && s.Captcha.Verifier == nil {
		problems = append(problems, errors.New("a Captcha.Verifier is required by the captcha mode or lockout type"))
	}
	if err := errors.Join(problems...); err != nil {
		return nil, fmt.Errorf("%w: tenant %q (API key %q): %w", ErrInvalidConfig, t.ID, maskAPIKey(apiKey), err)
	}
	s.sendLog = log.With("tenant", t.ID, "endpoint", "send")
	s.resetLog = log.With("tenant", t.ID, "endpoint", "reset")
	return s, nil
}

// checkRanges refuses the numeric and enumerated fields New cannot use.
func checkRanges(t *Tenant) error {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if t.ID == "" {
		bad("ID is required")
	}
	if t.CodeLength != 0 && (t.CodeLength < 4 || t.CodeLength > 10) {
		bad("CodeLength %d is outside 4 to 10", t.CodeLength)
	}
	for _, d := range []struct {
		name string
		v    int64
	}{
		{"CodeTTL", int64(t.CodeTTL)}, // MaxCodeAttempts: checkTenant
		{"SessionLifetime", int64(t.SessionLifetime)}, {"Limits.LockoutAttempts", int64(t.Limits.LockoutAttempts)},
		{"Limits.GuessBurst", int64(t.Limits.GuessBurst)},
		{"Limits.LockoutWindow", int64(t.Limits.LockoutWindow)}, {"Limits.MaxLockout", int64(t.Limits.MaxLockout)},
		{"Pumping.PrefixDigits", int64(t.Pumping.PrefixDigits)},
	} {
		if d.v < 0 {
			bad("%s must not be negative", d.name)
		}
	}
	if t.Captcha.Mode < CaptchaOff || t.Captcha.Mode > CaptchaAfterFailures {
		bad("unknown Captcha.Mode %d", t.Captcha.Mode)
	}
	if t.Limits.LockoutType != LockoutSuspend && t.Limits.LockoutType != LockoutCaptcha {
		bad("unknown Limits.LockoutType %d", t.Limits.LockoutType)
	}
	return errors.Join(problems...)
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// isNil reports whether v is nil or a nil pointer (or map, func, ...) inside
// an interface, which would otherwise pass a v == nil check and panic later.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// tenants turns API keys into checked settings: a static Tenants map is
// checked whole by New; a dynamic resolver's tenants are checked when first
// seen and kept by pointer.
type tenants struct {
	static   map[string]*settings
	resolver TenantResolver
	secret   []byte
	log      *slog.Logger

	cache sync.Map // *Tenant -> cachedSettings
	size  atomic.Int64
}

type cachedSettings struct {
	s   *settings
	err error
}

// maxCachedTenants bounds the dynamic cache; past it the cache starts over,
// so a resolver that builds a new *Tenant per call cannot grow memory.
const maxCachedTenants = 4096

func newTenants(r TenantResolver, secret []byte, log *slog.Logger) (*tenants, error) {
	ts := &tenants{resolver: r, secret: secret, log: log}
	static, ok := r.(Tenants)
	if !ok {
		return ts, nil
	}
	ts.static = make(map[string]*settings, len(static))
	var problems []error
	for key, t := range static {
		s, err := resolveSettings(key, t, secret, log)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		ts.static[key] = s
	}
	return ts, errors.Join(problems...)
}

// resolve returns the settings of apiKey's tenant. An error wrapping
// ErrUnknownAPIKey is the caller's (901); any other is a fault (950).
func (ts *tenants) resolve(ctx context.Context, apiKey string) (*settings, error) {
	if ts.static != nil {
		if s, ok := ts.static[apiKey]; ok {
			return s, nil
		}
		return nil, ErrUnknownAPIKey
	}
	t, err := ts.resolver.ResolveTenant(ctx, apiKey)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("%w: the TenantResolver returned no tenant and no error", ErrInvalidConfig)
	}
	if c, ok := ts.cache.Load(t); ok {
		return c.(cachedSettings).s, c.(cachedSettings).err
	}
	s, err := resolveSettings(apiKey, t, ts.secret, ts.log)
	if err != nil {
		// Logged once per tenant value; later requests answer 950 quietly.
		ts.log.Error("tenant refused", "tenant", t.ID, "api_key", maskAPIKey(apiKey), "err", err)
		err = fmt.Errorf("%w (logged when first resolved)", ErrInvalidConfig)
	}
	if ts.size.Add(1) > maxCachedTenants {
		ts.cache.Clear()
		ts.size.Store(1)
	}
	ts.cache.Store(t, cachedSettings{s, err})
	return s, err
}
