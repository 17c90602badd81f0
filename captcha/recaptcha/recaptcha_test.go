package recaptcha

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/captcha"
	pt "github.com/otpreset/go/captcha/internal/providertest"
)

const (
	secret = "6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe-SECRET"
	token  = "03AGdBq25-TOKEN-never-shown-in-errors"
	ip     = "203.0.113.7"
)

// now is the fake clock; answers' challenge_ts are relative to it.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ts(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }

func TestVerify(t *testing.T) {
	v3 := func(c *Config) {
		c.MinScore = 0.5
		c.Action = "reset_password"
		c.Hostnames = []string{"example.com"}
		c.MaxAge = 2 * time.Minute
	}
	tests := []struct {
		name   string
		config func(*Config)
		token  captcha.Token
		status int
		body   string
		want   pt.Outcome
		codes  []string
		calls  int // requests the provider must have seen
	}{
		{
			name:   "v2 success",
			status: 200, body: `{"success": true, "challenge_ts": "` + ts(-10*time.Second) + `", "hostname": "example.com"}`,
			want: pt.OK, calls: 1,
		},
		{
			name:   "v2 android success with hostname list matching the package",
			config: func(c *Config) { c.Hostnames = []string{"com.example.app"} },
			status: 200, body: `{"success": true, "challenge_ts": "` + ts(0) + `", "apk_package_name": "com.example.app"}`,
			want: pt.OK, calls: 1,
		},
		{
			name:   "v3 success",
			config: v3,
			status: 200, body: `{"success": true, "score": 0.9, "action": "reset_password", "challenge_ts": "` + ts(-30*time.Second) + `", "hostname": "example.com"}`,
			want: pt.OK, calls: 1,
		},
		{
			name:   "v3 score exactly at the threshold",
			config: v3,
			status: 200, body: `{"success": true, "score": 0.5, "action": "reset_password", "challenge_ts": "` + ts(0) + `", "hostname": "EXAMPLE.com"}`,
			want: pt.OK, calls: 1,
		},
		{
			name:   "v3 low score",
			config: v3,
			status: 200, body: `{"success": true, "score": 0.1, "action": "reset_password", "challenge_ts": "` + ts(0) + `", "hostname": "example.com"}`,
			want: pt.Rejected, codes: []string{"score-threshold"}, calls: 1,
		},
		{
			name:   "v3 threshold but the key is v2 (no score)",
			config: v3,
			status: 200, body: `{"success": true, "action": "reset_password", "challenge_ts": "` + ts(0) + `", "hostname": "example.com"}`,
			want: pt.Rejected, codes: []string{"missing-score"}, calls: 1,
		},
		{
			name:   "v3 low score refused by the default threshold",
			status: 200, body: `{"success": true, "score": 0.3, "action": "reset_password", "challenge_ts": "` + ts(0) + `", "hostname": "example.com"}`,
			want: pt.Rejected, codes: []string{"score-threshold"}, calls: 1,
		},
		{
			name:   "v3 score at the default threshold",
			status: 200, body: `{"success": true, "score": 0.5, "action": "reset_password", "challenge_ts": "` + ts(0) + `", "hostname": "example.com"}`,
			want: pt.OK, calls: 1,
		},
		{
			name:   "NoScoreCheck accepts a low score",
			config: func(c *Config) { c.MinScore = NoScoreCheck },
			status: 200, body: `{"success": true, "score": 0.0, "action": "reset_password", "challenge_ts": "` + ts(0) + `", "hostname": "example.com"}`,
			want: pt.OK, calls: 1,
		},
		{
			name:   "NoScoreCheck accepts a v2 answer",
			config: func(c *Config) { c.MinScore = NoScoreCheck },
			status: 200, body: `{"success": true, "challenge_ts": "` + ts(0) + `", "hostname": "example.com"}`,
			want: pt.OK, calls: 1,
		},
		{
			name:   "explicit lower threshold",
			config: func(c *Config) { c.MinScore = 0.2 },
			status: 200, body: `{"success": true, "score": 0.3, "challenge_ts": "` + ts(0) + `", "hostname": "example.com"}`,
			want: pt.OK, calls: 1,
		},
		{
			name:   "v3 wrong action",
			config: v3,
			status: 200, body: `{"success": true, "score": 0.9, "action": "login", "challenge_ts": "` + ts(0) + `", "hostname": "example.com"}`,
			want: pt.Rejected, codes: []string{"action-mismatch"}, calls: 1,
		},
		{
			name:   "wrong hostname",
			config: v3,
			status: 200, body: `{"success": true, "score": 0.9, "action": "reset_password", "challenge_ts": "` + ts(0) + `", "hostname": "evil.example.net"}`,
			want: pt.Rejected, codes: []string{"hostname-mismatch"}, calls: 1,
		},
		{
			name:   "stale challenge_ts",
			config: v3,
			status: 200, body: `{"success": true, "score": 0.9, "action": "reset_password", "challenge_ts": "` + ts(-3*time.Minute) + `", "hostname": "example.com"}`,
			want: pt.Rejected, codes: []string{"stale-challenge"}, calls: 1,
		},
		{
			name:   "challenge_ts far in the future",
			config: v3,
			status: 200, body: `{"success": true, "score": 0.9, "action": "reset_password", "challenge_ts": "` + ts(5*time.Minute) + `", "hostname": "example.com"}`,
			want: pt.Rejected, codes: []string{"stale-challenge"}, calls: 1,
		},
		{
			name:   "unreadable challenge_ts with MaxAge set",
			config: v3,
			status: 200, body: `{"success": true, "score": 0.9, "action": "reset_password", "challenge_ts": "yesterday", "hostname": "example.com"}`,
			want: pt.Unavailable, codes: []string{"bad-challenge-ts"}, calls: 1,
		},
		{
			name:   "missing-input-secret",
			status: 200, body: `{"success": false, "error-codes": ["missing-input-secret"]}`,
			want: pt.Misconfigured, codes: []string{"missing-input-secret"}, calls: 1,
		},
		{
			name:   "invalid-input-secret",
			status: 200, body: `{"success": false, "error-codes": ["invalid-input-secret"]}`,
			want: pt.Misconfigured, codes: []string{"invalid-input-secret"}, calls: 1,
		},
		{
			name:   "bad-request",
			status: 200, body: `{"success": false, "error-codes": ["bad-request"]}`,
			want: pt.Misconfigured, codes: []string{"bad-request"}, calls: 1,
		},
		{
			name:   "missing-input-response",
			status: 200, body: `{"success": false, "error-codes": ["missing-input-response"]}`,
			want: pt.Rejected, codes: []string{"missing-input-response"}, calls: 1,
		},
		{
			name:   "invalid-input-response",
			status: 200, body: `{"success": false, "error-codes": ["invalid-input-response"]}`,
			want: pt.Rejected, codes: []string{"invalid-input-response"}, calls: 1,
		},
		{
			name:   "timeout-or-duplicate",
			status: 200, body: `{"success": false, "error-codes": ["timeout-or-duplicate"]}`,
			want: pt.Rejected, codes: []string{"timeout-or-duplicate"}, calls: 1,
		},
		{
			name:   "secret error wins over token error",
			status: 200, body: `{"success": false, "error-codes": ["invalid-input-response", "invalid-input-secret"]}`,
			want: pt.Misconfigured, codes: []string{"invalid-input-response", "invalid-input-secret"}, calls: 1,
		},
		{
			name:   "refusal without codes",
			status: 200, body: `{"success": false}`,
			want: pt.Rejected, codes: []string{"unspecified"}, calls: 1,
		},
		{
			name:   "unknown code is a rejection",
			status: 200, body: `{"success": false, "error-codes": ["something-new"]}`,
			want: pt.Rejected, codes: []string{"something-new"}, calls: 1,
		},
		{
			name:   "code echoing request data is not repeated",
			status: 200, body: `{"success": false, "error-codes": ["bad token ` + token + `"]}`,
			want: pt.Rejected, codes: []string{"unrecognised-code"}, calls: 1,
		},
		{
			name:   "500",
			status: 500, body: `{"success": true}`,
			want: pt.Unavailable, codes: []string{"http-500"}, calls: 1,
		},
		{
			name:   "503 html",
			status: 503, body: `<html>down</html>`,
			want: pt.Unavailable, codes: []string{"http-503"}, calls: 1,
		},
		{
			name:   "malformed body",
			status: 200, body: `{"success": tru`,
			want: pt.Unavailable, codes: []string{"malformed-response"}, calls: 1,
		},
		{
			name:   "json without success",
			status: 200, body: `{"hostname": "example.com"}`,
			want: pt.Unavailable, codes: []string{"malformed-response"}, calls: 1,
		},
		{
			name:   "success of the wrong type",
			status: 200, body: `{"success": "true"}`,
			want: pt.Unavailable, codes: []string{"malformed-response"}, calls: 1,
		},
		{
			name:   "oversized answer",
			status: 200, body: `{"success": true, "hostname": "` + strings.Repeat("a", 70<<10) + `"}`,
			want: pt.Unavailable, codes: []string{"response-too-large"}, calls: 1,
		},
		{
			name:  "empty token makes no call",
			token: captcha.Token{RemoteIP: ip},
			want:  pt.Missing, calls: 0,
		},
		{
			name:  "absurdly long token makes no call",
			token: captcha.Token{Response: strings.Repeat("x", MaxTokenLen+1)},
			want:  pt.Rejected, codes: []string{"token-too-long"}, calls: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pt.NewServer(t, pt.JSON(tt.status, tt.body))
			logger, logs := pt.NewLogger()
			cfg := Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL + "/recaptcha/api/siteverify", Logger: logger, Clock: pt.FixedClock(now)}}
			if tt.config != nil {
				tt.config(&cfg)
			}
			v, err := New(cfg)
			require.NoError(t, err)
			tok := tt.token
			if tok == (captcha.Token{}) {
				tok = captcha.Token{Response: token, RemoteIP: ip}
			}
			err = v.Verify(context.Background(), tok)
			pt.Expect(t, err, tt.want, tt.codes)
			pt.NoLeak(t, err, logs, secret, token)
			assert.Len(t, srv.Requests(), tt.calls)
			if tt.want != pt.OK && tt.want != pt.Missing {
				assert.Contains(t, logs.String(), "provider=recaptcha")
			}
		})
	}
}

func TestVerifySendsDocumentedRequest(t *testing.T) {
	tests := []struct {
		name string
		tok  captcha.Token
		want map[string][]string
	}{
		{"with remote ip", captcha.Token{Response: token, RemoteIP: ip}, map[string][]string{"secret": {secret}, "response": {token}, "remoteip": {ip}}},
		{"without remote ip", captcha.Token{Response: token}, map[string][]string{"secret": {secret}, "response": {token}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pt.NewServer(t, pt.JSON(200, `{"success": true, "challenge_ts": "2026-03-01T12:00:00Z", "hostname": "example.com"}`))
			v, err := New(Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL + "/recaptcha/api/siteverify"}})
			require.NoError(t, err)
			require.NoError(t, v.Verify(context.Background(), tt.tok))
			reqs := srv.Requests()
			require.Len(t, reqs, 1)
			r := reqs[0]
			assert.Equal(t, http.MethodPost, r.Method)
			assert.Equal(t, "/recaptcha/api/siteverify", r.Path)
			assert.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
			assert.Empty(t, r.Query, "secret and token go in the body, never the URL")
			assert.Equal(t, tt.want, map[string][]string(r.Form))
		})
	}
}

func TestVerifyTimeoutFailsClosed(t *testing.T) {
	release := make(chan struct{})
	srv := pt.NewServer(t, pt.Hang(release))
	t.Cleanup(func() { close(release) })
	logger, logs := pt.NewLogger()
	v, err := New(Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL, Timeout: 50 * time.Millisecond, Logger: logger}})
	require.NoError(t, err)

	start := time.Now()
	err = v.Verify(context.Background(), captcha.Token{Response: token})
	pt.Expect(t, err, pt.Unavailable, []string{"timeout"})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second, "the configured timeout, not the default, must apply")
	pt.NoLeak(t, err, logs, secret, token)
	assert.Contains(t, logs.String(), "level=WARN")
}

func TestVerifyHonoursCancellation(t *testing.T) {
	release := make(chan struct{})
	srv := pt.NewServer(t, pt.Hang(release))
	t.Cleanup(func() { close(release) })
	v, err := New(Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL}})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Verify(ctx, captcha.Token{Response: token}) }()
	// Cancel once the provider has the request in hand.
	require.Eventually(t, func() bool { return len(srv.Requests()) == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	err = <-done
	pt.Expect(t, err, pt.Unavailable, []string{"canceled"})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestVerifyNetworkErrorFailsClosed(t *testing.T) {
	srv := pt.NewServer(t, pt.JSON(200, `{"success": true}`))
	url := srv.URL
	srv.Close() // nothing listens there any more
	v, err := New(Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: url}})
	require.NoError(t, err)
	err = v.Verify(context.Background(), captcha.Token{Response: token})
	pt.Expect(t, err, pt.Unavailable, []string{"network-error"})
	pt.NoLeak(t, err, nil, secret, token)
}

func TestVerifyDoesNotFollowRedirects(t *testing.T) {
	target := pt.NewServer(t, pt.JSON(200, `{"success": true}`))
	srv := pt.NewServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	})
	v, err := New(Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL}})
	require.NoError(t, err)
	err = v.Verify(context.Background(), captcha.Token{Response: token})
	pt.Expect(t, err, pt.Unavailable, []string{"http-302"})
	assert.Empty(t, target.Requests())
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{Siteverify: captcha.Siteverify{Secret: secret}}, true},
		{"alternate endpoint", Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: AlternateEndpoint}}, true},
		{"no secret", Config{}, false},
		{"score above one", Config{Siteverify: captcha.Siteverify{Secret: secret}, MinScore: 1.5}, false},
		{"negative score: no score check", Config{Siteverify: captcha.Siteverify{Secret: secret}, MinScore: NoScoreCheck}, true},
		{"NaN score", Config{Siteverify: captcha.Siteverify{Secret: secret}, MinScore: math.NaN()}, false},
		{"relative endpoint", Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: "/siteverify"}}, false},
		{"non-http endpoint", Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: "ftp://example.com/x"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(tt.cfg)
			if tt.ok {
				require.NoError(t, err)
				assert.NotNil(t, v)
				return
			}
			require.ErrorIs(t, err, captcha.ErrInvalidConfig)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}

func TestMisconfiguredIsDistinguishable(t *testing.T) {
	srv := pt.NewServer(t, pt.JSON(200, `{"success": false, "error-codes": ["invalid-input-secret"]}`))
	v, err := New(Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL}})
	require.NoError(t, err)
	err = v.Verify(context.Background(), captcha.Token{Response: token})
	assert.True(t, errors.Is(err, captcha.ErrMisconfigured))
	assert.True(t, errors.Is(err, captcha.ErrUnavailable), "a misconfiguration still fails closed")
	var ce *captcha.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, Provider, ce.Provider)
}

func BenchmarkVerify(b *testing.B) {
	srv := pt.NewServer(b, pt.JSON(200, `{"success": true, "score": 0.9, "action": "reset_password", "challenge_ts": "2026-03-01T12:00:00Z", "hostname": "example.com"}`))
	v, err := New(Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL, Hostnames: []string{"example.com"}}, MinScore: 0.5, Action: "reset_password"})
	require.NoError(b, err)
	tok := captcha.Token{Response: token, RemoteIP: ip}
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}
