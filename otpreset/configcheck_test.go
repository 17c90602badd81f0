package otpreset_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
)

// TestNewRefusesMistakes: values Go accepts but no host means (issue 22's
// list) are refused by New, each naming the field, with what to write
// instead, and the tenant by its masked API key; their neighbours that a
// host does mean are accepted.
func TestNewRefusesMistakes(t *testing.T) {
	const key = "live-key-5f1c9e2a"
	tenant := func(edit func(*otpreset.Tenant)) func(*otpreset.Config) {
		return func(c *otpreset.Config) {
			tn := &otpreset.Tenant{ID: "app"}
			edit(tn)
			c.Tenants = otpreset.Tenants{key: tn}
		}
	}
	secret := func(b []byte) func(*otpreset.Config) { return func(c *otpreset.Config) { c.Secret = b } }
	counting := make([]byte, 32)
	for i := range counting {
		counting[i] = byte(i)
	}
	tests := []struct {
		name string
		edit func(*otpreset.Config)
		want []string // in the error; none: accepted
	}{
		{"a URL as Domain", tenant(func(tn *otpreset.Tenant) { tn.Domain = "https://example.com/" }),
			[]string{`Domain "https://example.com/"`, `such as "example.com"`, `"@https://example.com/ #123456"`}},
		{"a trailing slash", tenant(func(tn *otpreset.Tenant) { tn.Domain = "example.com/" }), []string{`such as "example.com"`}},
		{"a path", tenant(func(tn *otpreset.Tenant) { tn.Domain = "example.com/reset" }), []string{`such as "example.com"`}},
		{"a port", tenant(func(tn *otpreset.Tenant) { tn.Domain = "example.com:8443" }), []string{`such as "example.com"`}},
		{"a trailing dot", tenant(func(tn *otpreset.Tenant) { tn.Domain = "example.com." }), []string{`such as "example.com"`}},
		{"a space", tenant(func(tn *otpreset.Tenant) { tn.Domain = "example .com" }), []string{`Domain "example .com" must be a bare host name (`}},
		{"a bare host", tenant(func(tn *otpreset.Tenant) { tn.Domain = "reset.example.com" }), nil},
		{"localhost", tenant(func(tn *otpreset.Tenant) { tn.Domain = "localhost" }), nil},
		{"an internationalised name", tenant(func(tn *otpreset.Tenant) { tn.Domain = "bücher.example" }), nil},

		{"password four times", secret([]byte(strings.Repeat("password", 4))), []string{"Config.Secret", "distinct byte values"}},
		{"a 9-byte word repeated", secret([]byte(strings.Repeat("Password1", 4))), []string{"Config.Secret repeats one 9-byte pattern"}},
		{"16 hex digits twice", secret([]byte(strings.Repeat("0123456789abcdef", 2))), []string{"Config.Secret repeats one 16-byte pattern"}},
		{"a pattern cut short", secret([]byte(strings.Repeat("Tr0ub4dor&3", 3))), []string{"Config.Secret repeats one 11-byte pattern"}},
		{"counting bytes", secret(counting), []string{"Config.Secret is a run of evenly spaced byte values"}},
		{"one repeated byte", secret(make([]byte, 32)), []string{"Config.Secret has only 1 distinct byte value"}},
		{"a 17-byte pattern twice", secret([]byte(strings.Repeat("0123456789abcdefg", 2))), nil},
		{"a sentence", secret([]byte("a configuration test secret of >= 32 bytes")), nil},

		{"CodeTTL 48h", tenant(func(tn *otpreset.Tenant) { tn.CodeTTL = 48 * time.Hour }), []string{"CodeTTL 48h0m0s is over 1h0m0s", "forwarded SMS"}},
		{"CodeTTL 61m", tenant(func(tn *otpreset.Tenant) { tn.CodeTTL = 61 * time.Minute }), []string{"CodeTTL 1h1m0s is over"}},
		{"CodeTTL 1h", tenant(func(tn *otpreset.Tenant) { tn.CodeTTL = time.Hour }), nil},
		{"CodeTTL in seconds, as a number", tenant(func(tn *otpreset.Tenant) { tn.CodeTTL = 300 }), []string{"CodeTTL is 300ns", "write 300 * time.Second"}},
		{"CodeTTL 30s", tenant(func(tn *otpreset.Tenant) { tn.CodeTTL = 30 * time.Second }), []string{"CodeTTL 30s is under 1m0s"}},
		{"CodeTTL 1m", tenant(func(tn *otpreset.Tenant) { tn.CodeTTL = time.Minute }), nil},

		{"MaxCodeAttempts 1000", tenant(func(tn *otpreset.Tenant) { tn.MaxCodeAttempts = 1000 }), []string{"MaxCodeAttempts 1000 is over 10"}},
		{"MaxCodeAttempts 11", tenant(func(tn *otpreset.Tenant) { tn.MaxCodeAttempts = 11 }), []string{"MaxCodeAttempts 11 is over 10"}},
		{"MaxCodeAttempts 10", tenant(func(tn *otpreset.Tenant) { tn.MaxCodeAttempts = 10 }), nil},
		{"MaxCodeAttempts -1 (no limit, load tests)", tenant(func(tn *otpreset.Tenant) { tn.MaxCodeAttempts = -1 }), nil},
		{"MaxCodeAttempts -2", tenant(func(tn *otpreset.Tenant) { tn.MaxCodeAttempts = -2 }), []string{"MaxCodeAttempts -2 must not be negative"}},

		{"an empty API key", func(c *otpreset.Config) { c.Tenants = otpreset.Tenants{"": {ID: "app"}} },
			[]string{`tenant "app" (API key "")`, `the API key is ""`}},
		{"no tenant ID", tenant(func(tn *otpreset.Tenant) { tn.ID = "" }), []string{`tenant "" (API key "live…"): ID is required`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.edit(&cfg)
			h, err := otpreset.New(cfg)
			if tc.want == nil {
				require.NoError(t, err)
				require.NotNil(t, h)
				return
			}
			require.ErrorIs(t, err, otpreset.ErrInvalidConfig)
			assert.Nil(t, h)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), key, "the whole API key")
			if !bytes.Equal(cfg.Secret, configSecret) {
				assert.NotContains(t, err.Error(), string(cfg.Secret[:8]), "the secret itself")
			} else if _, ok := cfg.Tenants.(otpreset.Tenants)[key]; ok {
				assert.Contains(t, err.Error(), `(API key "live…")`, "the tenant named by its masked key")
			}
		})
	}
}

// TestSecretsDrawnAtRandomAreAccepted: the secret checks never refuse what
// the docs tell a host to use, raw or hex-encoded (1,000 draws of each).
func TestSecretsDrawnAtRandomAreAccepted(t *testing.T) {
	for range 1000 {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		for _, s := range [][]byte{b, []byte(hex.EncodeToString(b))} {
			cfg := validConfig()
			cfg.Secret = s
			_, err := otpreset.New(cfg)
			require.NoError(t, err, "%x", s)
		}
	}
}

// TestNoCodeAttemptLimit: MaxCodeAttempts -1 really lifts the per-code
// limit (a right code still works after 12 wrong ones), and 10 really is a
// limit (after 10 wrong tries even the right code fails).
func TestNoCodeAttemptLimit(t *testing.T) {
	const phone = "+919999999999"
	for _, tc := range []struct {
		attempts, wrong, want int
	}{{-1, 12, 200}, {10, 10, 401}, {10, 9, 200}} {
		env := otpresettest.New(t, func(_ *otpreset.Config, tn *otpreset.Tenant) {
			tn.MaxCodeAttempts = tc.attempts
			tn.Limits = otpreset.Limits{ResetPerIP: "off", LockoutAttempts: 100}
		})
		env.AddUser(phone, "old password 1")
		require.Equal(t, 200, env.Send(phone).Code)
		code := env.Code(phone)
		for range tc.wrong {
			require.Equal(t, 401, env.Reset(phone, wrongCode(code), "new password 1").Code)
		}
		assert.Equal(t, tc.want, env.Reset(phone, code, "new password 1").Code, "MaxCodeAttempts %d after %d wrong", tc.attempts, tc.wrong)
	}
}

// TestTrustedProxiesNeedsProxies: a header without the proxies it comes
// from would never be read; TrustedProxies refuses it and says what to add.
func TestTrustedProxiesNeedsProxies(t *testing.T) {
	f, err := otpreset.TrustedProxies("X-Forwarded-For")
	require.ErrorIs(t, err, otpreset.ErrInvalidConfig)
	assert.Nil(t, f)
	assert.Contains(t, err.Error(), `TrustedProxies("X-Forwarded-For") names no proxy`)
	_, err = otpreset.TrustedProxies("X-Forwarded-For", "10.0.0.0/8")
	assert.NoError(t, err)
}

// TestDynamicTenantRefusalNamesTheKey: a resolver's tenant that fails the
// checks is logged with its masked API key, never the whole key.
func TestDynamicTenantRefusalNamesTheKey(t *testing.T) {
	var logs bytes.Buffer
	bad := &otpreset.Tenant{ID: "app", Domain: "https://example.com"}
	env := otpresettest.New(t, func(c *otpreset.Config, _ *otpreset.Tenant) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.Tenants = resolverFunc(func(context.Context, string) (*otpreset.Tenant, error) { return bad, nil })
	})
	assert.Equal(t, 500, env.Send("+919999999999").Code)
	assert.Contains(t, logs.String(), `api_key=test…`)
	assert.Contains(t, logs.String(), `such as \"example.com\"`)
	assert.NotContains(t, logs.String(), otpresettest.APIKey)
}
