package turnstile

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/captcha"
	pt "github.com/otpreset/go/captcha/internal/providertest"
)

const (
	secret = "0x4AAAAAAA-turnstile-secret-never-shown"
	token  = "0.TOKEN-turnstile-never-shown.XXXX"
	ip     = "2001:db8::7"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func cts(d time.Duration) string { return now.Add(d).Format("2006-01-02T15:04:05.000Z") }

func TestVerify(t *testing.T) {
	strict := func(c *Config) {
		c.Action = "reset_password"
		c.Hostnames = []string{"example.com"}
		c.MaxAge = 5 * time.Minute
	}
	ok := `{"success": true, "challenge_ts": "` + cts(-time.Minute) + `", "hostname": "example.com", "error-codes": [], "action": "reset_password", "cdata": "sessionid-123456789"}`
	tests := []struct {
		name    string
		config  func(*Config)
		token   captcha.Token
		answers []string // one status+body per call: "200 {...}"
		want    pt.Outcome
		codes   []string
		calls   int
	}{
		{name: "success", answers: []string{`200 {"success": true, "challenge_ts": "2022-10-06T00:07:23.274Z", "hostname": "example.com", "error-codes": []}`}, want: pt.OK, calls: 1},
		{name: "success with action, hostname and age checks", config: strict, answers: []string{"200 " + ok}, want: pt.OK, calls: 1},
		{
			name: "wrong action", config: strict,
			answers: []string{`200 {"success": true, "challenge_ts": "` + cts(0) + `", "hostname": "example.com", "action": "login"}`},
			want:    pt.Rejected, codes: []string{"action-mismatch"}, calls: 1,
		},
		{
			name: "wrong hostname", config: strict,
			answers: []string{`200 {"success": true, "challenge_ts": "` + cts(0) + `", "hostname": "example.org", "action": "reset_password"}`},
			want:    pt.Rejected, codes: []string{"hostname-mismatch"}, calls: 1,
		},
		{
			name: "stale challenge_ts", config: strict,
			answers: []string{`200 {"success": true, "challenge_ts": "` + cts(-6*time.Minute) + `", "hostname": "example.com", "action": "reset_password"}`},
			want:    pt.Rejected, codes: []string{"stale-challenge"}, calls: 1,
		},
		{name: "missing-input-secret", answers: []string{`200 {"success": false, "error-codes": ["missing-input-secret"]}`}, want: pt.Misconfigured, codes: []string{"missing-input-secret"}, calls: 1},
		{name: "invalid-input-secret", answers: []string{`200 {"success": false, "error-codes": ["invalid-input-secret"]}`}, want: pt.Misconfigured, codes: []string{"invalid-input-secret"}, calls: 1},
		{name: "bad-request", answers: []string{`200 {"success": false, "error-codes": ["bad-request"]}`}, want: pt.Misconfigured, codes: []string{"bad-request"}, calls: 1},
		{name: "missing-input-response", answers: []string{`200 {"success": false, "error-codes": ["missing-input-response"]}`}, want: pt.Rejected, codes: []string{"missing-input-response"}, calls: 1},
		{name: "invalid-input-response", answers: []string{`200 {"success": false, "error-codes": ["invalid-input-response"]}`}, want: pt.Rejected, codes: []string{"invalid-input-response"}, calls: 1},
		{name: "timeout-or-duplicate is not retried", answers: []string{`200 {"success": false, "error-codes": ["timeout-or-duplicate"]}`, "200 " + ok}, want: pt.Rejected, codes: []string{"timeout-or-duplicate"}, calls: 1},
		{name: "internal-error then success", answers: []string{`200 {"success": false, "error-codes": ["internal-error"]}`, "200 " + ok}, want: pt.OK, calls: 2},
		{name: "internal-error twice", answers: []string{`200 {"success": false, "error-codes": ["internal-error"]}`}, want: pt.Unavailable, codes: []string{"internal-error"}, calls: 2},
		{name: "500 then success", answers: []string{`500 oops`, "200 " + ok}, want: pt.OK, calls: 2},
		{name: "500 twice", answers: []string{`500 oops`}, want: pt.Unavailable, codes: []string{"http-500"}, calls: 2},
		{name: "malformed twice", answers: []string{`200 <html>challenge page</html>`}, want: pt.Unavailable, codes: []string{"malformed-response"}, calls: 2},
		{name: "retries disabled", config: func(c *Config) { c.Retries = -1 }, answers: []string{`502 bad gateway`, "200 " + ok}, want: pt.Unavailable, codes: []string{"http-502"}, calls: 1},
		{name: "three retries", config: func(c *Config) { c.Retries = 3 }, answers: []string{`503 x`, `503 x`, `503 x`, "200 " + ok}, want: pt.OK, calls: 4},
		{name: "misconfiguration is not retried", answers: []string{`200 {"success": false, "error-codes": ["invalid-input-secret"]}`, "200 " + ok}, want: pt.Misconfigured, codes: []string{"invalid-input-secret"}, calls: 1},
		{name: "empty token makes no call", token: captcha.Token{RemoteIP: ip}, answers: []string{"200 " + ok}, want: pt.Missing, calls: 0},
		{name: "token over 2048 makes no call", token: captcha.Token{Response: strings.Repeat("t", 2049)}, answers: []string{"200 " + ok}, want: pt.Rejected, codes: []string{"token-too-long"}, calls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var handlers []http.HandlerFunc
			for _, a := range tt.answers {
				status, body, _ := strings.Cut(a, " ")
				code := map[string]int{"200": 200, "500": 500, "502": 502, "503": 503}[status]
				require.NotZero(t, code, "test table status %q", status)
				handlers = append(handlers, pt.JSON(code, body))
			}
			srv := pt.NewServer(t, pt.Sequence(handlers...))
			logger, logs := pt.NewLogger()
			cfg := Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL + "/turnstile/v0/siteverify", Logger: logger, Clock: pt.FixedClock(now)}}
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
			reqs := srv.Requests()
			require.Len(t, reqs, tt.calls)
			for i := 1; i < len(reqs); i++ {
				r := reqs[i]
				assert.Equal(t, reqs[0].Form.Get("idempotency_key"), r.Form.Get("idempotency_key"), "a retry reuses the idempotency key")
			}
		})
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestVerifySendsDocumentedRequest(t *testing.T) {
	srv := pt.NewServer(t, pt.JSON(200, `{"success": true, "challenge_ts": "2022-02-28T15:14:30.096Z", "hostname": "example.com", "error-codes": []}`))
	v, err := New(Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL + "/turnstile/v0/siteverify"}})
	require.NoError(t, err)
	for range 2 {
		require.NoError(t, v.Verify(context.Background(), captcha.Token{Response: token, RemoteIP: ip}))
	}
	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		assert.Equal(t, http.MethodPost, r.Method)
		assert.Equal(t, "/turnstile/v0/siteverify", r.Path)
		assert.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
		assert.Empty(t, r.Query)
		assert.Equal(t, []string{"idempotency_key", "remoteip", "response", "secret"}, keys(r.Form))
		assert.Equal(t, secret, r.Form.Get("secret"))
		assert.Equal(t, token, r.Form.Get("response"))
		assert.Equal(t, ip, r.Form.Get("remoteip"))
		assert.Regexp(t, uuidV4, r.Form.Get("idempotency_key"))
	}
	assert.NotEqual(t, reqs[0].Form.Get("idempotency_key"), reqs[1].Form.Get("idempotency_key"), "each Verify has its own key")
}

func keys(m map[string][]string) []string {
	return slices.Sorted(maps.Keys(m))
}

func TestIdempotencyKeyFromInjectedRand(t *testing.T) {
	srv := pt.NewServer(t, pt.JSON(200, `{"success": true}`))
	seed := bytes.Repeat([]byte{0xff}, 16)
	v, err := New(Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL}, Rand: bytes.NewReader(seed)})
	require.NoError(t, err)
	require.NoError(t, v.Verify(context.Background(), captcha.Token{Response: token}))
	assert.Equal(t, "ffffffff-ffff-4fff-bfff-ffffffffffff", srv.Requests()[0].Form.Get("idempotency_key"))
}

func TestRandFailureFailsClosed(t *testing.T) {
	srv := pt.NewServer(t, pt.JSON(200, `{"success": true}`))
	v, err := New(Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL}, Rand: bytes.NewReader(nil)})
	require.NoError(t, err)
	err = v.Verify(context.Background(), captcha.Token{Response: token})
	pt.Expect(t, err, pt.Unavailable, []string{"no-idempotency-key"})
	assert.Empty(t, srv.Requests())
}

func TestVerifyTimeoutCoversRetries(t *testing.T) {
	release := make(chan struct{})
	srv := pt.NewServer(t, pt.Hang(release))
	t.Cleanup(func() { close(release) })
	v, err := New(Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: srv.URL, Timeout: 50 * time.Millisecond}, Retries: 5})
	require.NoError(t, err)
	err = v.Verify(context.Background(), captcha.Token{Response: token})
	pt.Expect(t, err, pt.Unavailable, []string{"timeout"})
	assert.True(t, errors.Is(err, context.DeadlineExceeded))
	assert.Len(t, srv.Requests(), 1, "once the time is spent, no retry is sent")
}

func TestNewValidatesConfig(t *testing.T) {
	_, err := New(Config{})
	assert.ErrorIs(t, err, captcha.ErrInvalidConfig)
	_, err = New(Config{Siteverify: captcha.Siteverify{Secret: secret, Endpoint: "challenges.cloudflare.com"}})
	assert.ErrorIs(t, err, captcha.ErrInvalidConfig)
	v, err := New(Config{Siteverify: captcha.Siteverify{Secret: secret}})
	require.NoError(t, err)
	assert.Equal(t, DefaultEndpoint, v.sv.Endpoint)
	assert.Equal(t, 1, v.sv.Retries)
}
