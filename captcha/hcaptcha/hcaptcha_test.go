package hcaptcha

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/captcha"
	pt "github.com/otpreset/go/captcha/internal/providertest"
)

const (
	secret  = "0x4AAAAAAAsecret-hcaptcha-never-shown"
	siteKey = "10000000-ffff-ffff-ffff-000000000001"
	token   = "P1_eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.TOKEN-never-shown"
	ip      = "198.51.100.23"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// hts formats like hCaptcha does: microseconds and a Z.
func hts(d time.Duration) string { return now.Add(d).Format("2006-01-02T15:04:05.000000Z") }

func TestVerify(t *testing.T) {
	strict := func(c *Config) {
		c.MaxScore = 0.7
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
		calls  int
	}{
		{
			name:   "success",
			status: 200, body: `{"success": true, "challenge_ts": "` + hts(-5*time.Second) + `", "hostname": "example.com", "credit": false}`,
			want: pt.OK, calls: 1,
		},
		{
			name:   "enterprise success, low risk",
			config: strict,
			status: 200, body: `{"success": true, "challenge_ts": "` + hts(-5*time.Second) + `", "hostname": "example.com", "score": 0.1, "score_reason": ["safe"]}`,
			want: pt.OK, calls: 1,
		},
		{
			name:   "enterprise high risk score",
			config: strict,
			status: 200, body: `{"success": true, "challenge_ts": "` + hts(0) + `", "hostname": "example.com", "score": 0.95, "score_reason": ["automation"]}`,
			want: pt.Rejected, codes: []string{"score-threshold"}, calls: 1,
		},
		{
			name:   "enterprise threshold without a score",
			config: strict,
			status: 200, body: `{"success": true, "challenge_ts": "` + hts(0) + `", "hostname": "example.com"}`,
			want: pt.Rejected, codes: []string{"missing-score"}, calls: 1,
		},
		{
			name:   "wrong hostname",
			config: strict,
			status: 200, body: `{"success": true, "challenge_ts": "` + hts(0) + `", "hostname": "phish.example.net", "score": 0.1}`,
			want: pt.Rejected, codes: []string{"hostname-mismatch"}, calls: 1,
		},
		{
			name:   "stale challenge_ts",
			config: strict,
			status: 200, body: `{"success": true, "challenge_ts": "` + hts(-10*time.Minute) + `", "hostname": "example.com", "score": 0.1}`,
			want: pt.Rejected, codes: []string{"stale-challenge"}, calls: 1,
		},
		{name: "missing-input-secret", status: 200, body: `{"success": false, "error-codes": ["missing-input-secret"]}`, want: pt.Misconfigured, codes: []string{"missing-input-secret"}, calls: 1},
		{name: "invalid-input-secret", status: 200, body: `{"success": false, "error-codes": ["invalid-input-secret"]}`, want: pt.Misconfigured, codes: []string{"invalid-input-secret"}, calls: 1},
		{name: "sitekey-secret-mismatch", status: 200, body: `{"success": false, "error-codes": ["sitekey-secret-mismatch"]}`, want: pt.Misconfigured, codes: []string{"sitekey-secret-mismatch"}, calls: 1},
		{name: "not-using-dummy-passcode", status: 200, body: `{"success": false, "error-codes": ["not-using-dummy-passcode"]}`, want: pt.Misconfigured, codes: []string{"not-using-dummy-passcode"}, calls: 1},
		{name: "bad-request", status: 200, body: `{"success": false, "error-codes": ["bad-request"]}`, want: pt.Misconfigured, codes: []string{"bad-request"}, calls: 1},
		{name: "missing-remoteip", status: 200, body: `{"success": false, "error-codes": ["missing-remoteip"]}`, want: pt.Misconfigured, codes: []string{"missing-remoteip"}, calls: 1},
		{name: "invalid-remoteip", status: 200, body: `{"success": false, "error-codes": ["invalid-remoteip"]}`, want: pt.Rejected, codes: []string{"invalid-remoteip"}, calls: 1},
		{name: "missing-input-response", status: 200, body: `{"success": false, "error-codes": ["missing-input-response"]}`, want: pt.Rejected, codes: []string{"missing-input-response"}, calls: 1},
		{name: "invalid-input-response", status: 200, body: `{"success": false, "error-codes": ["invalid-input-response"]}`, want: pt.Rejected, codes: []string{"invalid-input-response"}, calls: 1},
		{name: "expired-input-response", status: 200, body: `{"success": false, "error-codes": ["expired-input-response"]}`, want: pt.Rejected, codes: []string{"expired-input-response"}, calls: 1},
		{name: "already-seen-response", status: 200, body: `{"success": false, "error-codes": ["already-seen-response"]}`, want: pt.Rejected, codes: []string{"already-seen-response"}, calls: 1},
		{name: "invalid-or-already-seen-response", status: 200, body: `{"success": false, "error-codes": ["invalid-or-already-seen-response"]}`, want: pt.Rejected, codes: []string{"invalid-or-already-seen-response"}, calls: 1},
		{name: "500", status: 500, body: `internal error`, want: pt.Unavailable, codes: []string{"http-500"}, calls: 1},
		{name: "429", status: 429, body: `{"success": false}`, want: pt.Unavailable, codes: []string{"http-429"}, calls: 1},
		{name: "malformed body", status: 200, body: `not json`, want: pt.Unavailable, codes: []string{"malformed-response"}, calls: 1},
		{name: "empty body", status: 200, body: ``, want: pt.Unavailable, codes: []string{"malformed-response"}, calls: 1},
		{name: "empty token makes no call", token: captcha.Token{RemoteIP: ip}, want: pt.Missing, calls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pt.NewServer(t, pt.JSON(tt.status, tt.body))
			logger, logs := pt.NewLogger()
			cfg := Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL + "/siteverify", Logger: logger, Clock: pt.FixedClock(now)}, SiteKey: siteKey}
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
		})
	}
}

func TestVerifySendsDocumentedRequest(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		tok  captcha.Token
		want map[string][]string
	}{
		{
			name: "site key and remote ip",
			cfg:  Config{Siteverify: captcha.Siteverify{Secret: secret}, SiteKey: siteKey},
			tok:  captcha.Token{Response: token, RemoteIP: ip},
			want: map[string][]string{"secret": {secret}, "response": {token}, "remoteip": {ip}, "sitekey": {siteKey}},
		},
		{
			name: "secret and token only",
			cfg:  Config{Siteverify: captcha.Siteverify{Secret: secret}},
			tok:  captcha.Token{Response: token},
			want: map[string][]string{"secret": {secret}, "response": {token}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pt.NewServer(t, pt.JSON(200, `{"success": true, "challenge_ts": "2026-03-01T12:00:00.000000Z", "hostname": "example.com"}`))
			tt.cfg.Endpoint = srv.URL + "/siteverify"
			v, err := New(tt.cfg)
			require.NoError(t, err)
			require.NoError(t, v.Verify(context.Background(), tt.tok))
			reqs := srv.Requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, http.MethodPost, reqs[0].Method)
			assert.Equal(t, "/siteverify", reqs[0].Path)
			assert.Equal(t, "application/x-www-form-urlencoded", reqs[0].Header.Get("Content-Type"))
			assert.Empty(t, reqs[0].Query)
			assert.Equal(t, tt.want, map[string][]string(reqs[0].Form))
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
	err = v.Verify(context.Background(), captcha.Token{Response: token})
	pt.Expect(t, err, pt.Unavailable, []string{"timeout"})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	pt.NoLeak(t, err, logs, secret, token)
}

func TestVerifyHonoursCancellation(t *testing.T) {
	srv := pt.NewServer(t, pt.JSON(200, `{"success": true}`))
	v, err := New(Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = v.Verify(ctx, captcha.Token{Response: token})
	pt.Expect(t, err, pt.Unavailable, []string{"canceled"})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, srv.Requests(), "a cancelled context sends nothing")
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{Siteverify: captcha.Siteverify{Secret: secret}}, true},
		{"enterprise", Config{Siteverify: captcha.Siteverify{Secret: secret}, SiteKey: siteKey, MaxScore: 0.6}, true},
		{"no secret", Config{SiteKey: siteKey}, false},
		{"score above one", Config{Siteverify: captcha.Siteverify{Secret: secret}, MaxScore: 2}, false},
		{"bad endpoint", Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: "api.hcaptcha.com/siteverify"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, captcha.ErrInvalidConfig)
			}
		})
	}
}
