package otpreset_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

// resolverFunc adapts a function to otpreset.TenantResolver.
type resolverFunc func(ctx context.Context, apiKey string) (*otpreset.Tenant, error)

func (f resolverFunc) ResolveTenant(ctx context.Context, apiKey string) (*otpreset.Tenant, error) {
	return f(ctx, apiKey)
}

var configSecret = []byte("a configuration test secret of >= 32 bytes")

func validConfig() otpreset.Config {
	return otpreset.Config{
		Store:   memstore.New(),
		Sender:  &sms.LogSender{},
		Tenants: otpreset.Tenants{"key": {ID: "app"}},
		Secret:  configSecret,
	}
}

// TestNewRefusesBadConfig: every setting New cannot work with is refused at
// start-up with an error matching ErrInvalidConfig that names the field,
// instead of a 950 on every request later.
func TestNewRefusesBadConfig(t *testing.T) {
	verifier := captcha.VerifierFunc(func(context.Context, captcha.Token) error { return nil })
	var nilStore *memstore.Store
	var nilSender *sms.LogSender
	tenant := func(edit func(*otpreset.Tenant)) func(*otpreset.Config) {
		return func(c *otpreset.Config) {
			tn := &otpreset.Tenant{ID: "app"}
			edit(tn)
			c.Tenants = otpreset.Tenants{"key": tn}
		}
	}
	tests := []struct {
		name, want string
		edit       func(*otpreset.Config)
	}{
		{"no store", "Config.Store", func(c *otpreset.Config) { c.Store = nil }},
		{"typed nil store", "Config.Store", func(c *otpreset.Config) { c.Store = nilStore }},
		{"no sender", "Config.Sender", func(c *otpreset.Config) { c.Sender = nil }},
		{"typed nil sender", "Config.Sender", func(c *otpreset.Config) { c.Sender = nilSender }},
		{"no tenants", "Config.Tenants", func(c *otpreset.Config) { c.Tenants = nil }},
		{"short secret", "Config.Secret", func(c *otpreset.Config) { c.Secret = []byte("short") }},
		{"secret of one repeated byte", "Config.Secret", func(c *otpreset.Config) { c.Secret = make([]byte, 32) }},
		{"negative apply timeout", "Config.ApplyTimeout", func(c *otpreset.Config) { c.ApplyTimeout = -time.Second }},
		{"outbox without an outbox store", "outbox", func(c *otpreset.Config) {
			c.Store = store.Composite{Users: memstore.New(), Challenges: memstore.New(), Sessions: memstore.New()}
			c.WebhookOutbox = true
		}},
		{"nil tenant", "nil Tenant", func(c *otpreset.Config) { c.Tenants = otpreset.Tenants{"key": nil} }},
		{"missing tenant ID", "ID is required", tenant(func(tn *otpreset.Tenant) { tn.ID = "" })},
		{"code length 3", "CodeLength 3", tenant(func(tn *otpreset.Tenant) { tn.CodeLength = 3 })},
		{"code length 11", "CodeLength 11", tenant(func(tn *otpreset.Tenant) { tn.CodeLength = 11 })},
		{"negative TTL", "CodeTTL", tenant(func(tn *otpreset.Tenant) { tn.CodeTTL = -time.Second })},
		{"negative attempts", "MaxCodeAttempts", tenant(func(tn *otpreset.Tenant) { tn.MaxCodeAttempts = -2 })},
		{"negative lockout attempts", "Limits.LockoutAttempts", tenant(func(tn *otpreset.Tenant) { tn.Limits.LockoutAttempts = -1 })},
		{"unparseable rate", "Limits.SendPerPhone", tenant(func(tn *otpreset.Tenant) { tn.Limits.SendPerPhone = "3 per minute" })},
		{"unparseable prefix cap", "Pumping.PrefixDailyCap", tenant(func(tn *otpreset.Tenant) { tn.Pumping.PrefixDailyCap = "200-1W" })},
		{"captcha always without verifier", "Captcha.Verifier", tenant(func(tn *otpreset.Tenant) { tn.Captcha.Mode = otpreset.CaptchaAlways })},
		{"captcha after failures without verifier", "Captcha.Verifier", tenant(func(tn *otpreset.Tenant) { tn.Captcha.Mode = otpreset.CaptchaAfterFailures })},
		{"captcha lockout without verifier", "Captcha.Verifier", tenant(func(tn *otpreset.Tenant) { tn.Limits.LockoutType = otpreset.LockoutCaptcha })},
		{"typed nil verifier", "Captcha.Verifier", tenant(func(tn *otpreset.Tenant) {
			var v captcha.VerifierFunc
			tn.Captcha = otpreset.CaptchaPolicy{Mode: otpreset.CaptchaAlways, Verifier: v}
		})},
		{"unknown captcha mode", "Captcha.Mode", tenant(func(tn *otpreset.Tenant) { tn.Captcha = otpreset.CaptchaPolicy{Mode: 7, Verifier: verifier} })},
		{"unknown lockout type", "Limits.LockoutType", tenant(func(tn *otpreset.Tenant) { tn.Limits.LockoutType = 9 })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.edit(&cfg)
			h, err := otpreset.New(cfg)
			require.Error(t, err)
			assert.Nil(t, h)
			assert.ErrorIs(t, err, otpreset.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("the valid base config is accepted", func(t *testing.T) {
		_, err := otpreset.New(validConfig())
		require.NoError(t, err)
	})
	t.Run("every problem is named at once", func(t *testing.T) {
		cfg := validConfig()
		cfg.Tenants = otpreset.Tenants{"key": {ID: "app", CodeLength: 2, Limits: otpreset.Limits{ResetPerIP: "x"}}}
		_, err := otpreset.New(cfg)
		require.ErrorIs(t, err, otpreset.ErrInvalidConfig)
		assert.Contains(t, err.Error(), "CodeLength 2")
		assert.Contains(t, err.Error(), "Limits.ResetPerIP")
	})
}

// TestDynamicTenantCheckedOnce: a resolver's tenant that fails the checks is
// answered 950 on every request and logged once, not at every request.
func TestDynamicTenantCheckedOnce(t *testing.T) {
	var logs bytes.Buffer
	bad := &otpreset.Tenant{ID: "app", CodeLength: 99}
	env := otpresettest.New(t, func(c *otpreset.Config, _ *otpreset.Tenant) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.Tenants = resolverFunc(func(_ context.Context, key string) (*otpreset.Tenant, error) {
			if key != otpresettest.APIKey {
				return nil, otpreset.ErrUnknownAPIKey
			}
			return bad, nil
		})
	})
	for range 3 {
		rec := env.Send("+919999999999")
		assert.Equal(t, 500, rec.Code)
		assert.Equal(t, float64(950), errorCode(t, rec.Body.Bytes()))
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "tenant refused"), logs.String())
	assert.Contains(t, logs.String(), "CodeLength 99")
}
