package httpsender_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/sms/httpsender"
	"github.com/otpreset/go/webhook/signature"
)

const (
	lrSecret = "tenant-webhook-secret"
	code     = "482915"
	phone    = "+919999999999"
)

var (
	stdKey    = []byte("0123456789abcdef0123456789abcdef")
	stdSecret = "whsec_" + base64.StdEncoding.EncodeToString(stdKey)
	now       = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	msg       = sms.Message{TenantID: "acme", To: phone, Body: "Acme: " + code + " is your code", Code: code}
)

// received is one request the provider got.
type received struct {
	header http.Header
	body   []byte
}

// provider is a host's SMS bridge: it records requests and answers with
// the scripted replies, then {"sid": ...}.
type provider struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	replies []func(w http.ResponseWriter)
}

func newProvider(t *testing.T, replies ...func(w http.ResponseWriter)) *provider {
	p := &provider{replies: replies}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.got = append(p.got, received{header: r.Header.Clone(), body: body})
		n := len(p.got)
		var reply func(http.ResponseWriter)
		if len(p.replies) > 0 {
			reply, p.replies = p.replies[0], p.replies[1:]
		}
		p.mu.Unlock()
		if reply != nil {
			reply(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"sid":"msg-%d","account_sid":"bridge","extra":"ignored"}`, n)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *provider) requests() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.got...)
}

func newSender(t *testing.T, url string, edit func(*httpsender.Config)) *httpsender.Sender {
	t.Helper()
	cfg := httpsender.Config{
		URL:     url,
		Secrets: signature.Secrets{LoginRadius: lrSecret, Standard: stdSecret},
		Clock:   fixedClock(now),
		NewID:   func() string { return "msg_2b8f1c" },
		Logger:  slog.New(slog.DiscardHandler),
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := httpsender.New(cfg)
	require.NoError(t, err)
	return s
}

func TestSendSignedJSON(t *testing.T) {
	p := newProvider(t)
	s := newSender(t, p.URL+"/sms", func(c *httpsender.Config) {
		c.Header = http.Header{"Authorization": {"Bearer bridge-token"}}
	})
	r, err := s.Send(context.Background(), msg)
	require.NoError(t, err)
	assert.Equal(t, sms.Receipt{AccountSid: "bridge", Sid: "msg-1"}, r)

	got := p.requests()[0]
	assert.JSONEq(t, `{"tenant":"acme","to":"+919999999999","body":"Acme: 482915 is your code","code":"482915","voice":false}`, string(got.body))
	assert.Equal(t, "application/json", got.header.Get("Content-Type"))
	assert.Equal(t, "Bearer bridge-token", got.header.Get("Authorization"))

	// LoginRadius's scheme, computed independently: upper-case hex
	// HMAC-SHA256 of the body.
	mac := hmac.New(sha256.New, []byte(lrSecret))
	mac.Write(got.body)
	assert.Equal(t, strings.ToUpper(hex.EncodeToString(mac.Sum(nil))), got.header.Get("signature"))

	// Standard Webhooks: v1,base64(HMAC-SHA256(key, id.timestamp.body)).
	assert.Equal(t, "msg_2b8f1c", got.header.Get("webhook-id"))
	assert.Equal(t, strconv.FormatInt(now.Unix(), 10), got.header.Get("webhook-timestamp"))
	mac = hmac.New(sha256.New, stdKey)
	mac.Write([]byte("msg_2b8f1c." + strconv.FormatInt(now.Unix(), 10) + "."))
	mac.Write(got.body)
	assert.Equal(t, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)), got.header.Get("webhook-signature"))
}

func TestSendVoiceAndOmitCode(t *testing.T) {
	p := newProvider(t)
	m := msg
	m.Voice = true
	_, err := newSender(t, p.URL, nil).Send(context.Background(), m)
	require.NoError(t, err)
	_, err = newSender(t, p.URL, func(c *httpsender.Config) { c.OmitCode = true }).Send(context.Background(), m)
	require.NoError(t, err)
	var first, second map[string]any
	require.NoError(t, json.Unmarshal(p.requests()[0].body, &first))
	require.NoError(t, json.Unmarshal(p.requests()[1].body, &second))
	assert.Equal(t, true, first["voice"])
	assert.Equal(t, code, first["code"])
	assert.NotContains(t, second, "code")
}

func TestSendOnlyOneScheme(t *testing.T) {
	p := newProvider(t)
	_, err := newSender(t, p.URL, func(c *httpsender.Config) { c.Secrets.Standard = "" }).Send(context.Background(), msg)
	require.NoError(t, err)
	h := p.requests()[0].header
	assert.NotEmpty(t, h.Get("signature"))
	assert.Empty(t, h.Get("webhook-signature"))
}

func status(st int, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(st)
		fmt.Fprintf(w, `{"error":"could not send %s to %s"}`, code, phone) // a careless bridge echoing the code
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		reply     func(http.ResponseWriter)
		status    int
		retryable bool
		wait      time.Duration
	}{
		{"bad request", status(400), 400, false, 0},
		{"unauthorised", status(401), 401, false, 0},
		{"rate limited", status(429, "Retry-After", "3"), 429, true, 3 * time.Second},
		{"rate limited, date", status(429, "Retry-After", now.Add(time.Minute).Format(http.TimeFormat)), 429, true, time.Minute},
		{"server error", status(500), 500, true, 0},
		{"unavailable", status(503), 503, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.reply)
			_, err := newSender(t, p.URL, nil).Send(context.Background(), msg)
			require.ErrorIs(t, err, sms.ErrSendFailed)
			var he *httpsender.Error
			require.ErrorAs(t, err, &he)
			assert.Equal(t, tt.status, he.Status)
			assert.Equal(t, tt.retryable, sms.IsRetryable(err))
			wait := he.RetryAfter()
			assert.Equal(t, tt.wait, wait)
			assert.NotContains(t, err.Error(), code)
			assert.NotContains(t, err.Error(), phone)
		})
	}
}

func TestSendBadAnswers(t *testing.T) {
	for _, body := range []string{`{"id":"x"}`, `OK`, ``, `{"sid":""}`} {
		p := newProvider(t, func(w http.ResponseWriter) { fmt.Fprint(w, body) })
		_, err := newSender(t, p.URL, nil).Send(context.Background(), msg)
		require.ErrorIs(t, err, sms.ErrSendFailed, body)
		require.ErrorIs(t, err, httpsender.ErrBadAnswer, body)
		assert.False(t, sms.IsRetryable(err), "the message may have gone out")
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	p := newProvider(t, func(w http.ResponseWriter) { <-release })
	defer close(release)
	s := newSender(t, p.URL, func(c *httpsender.Config) { c.Timeout = 30 * time.Millisecond })
	_, err := s.Send(context.Background(), msg)
	require.ErrorIs(t, err, sms.ErrSendFailed)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, sms.IsRetryable(err))
}

func TestRetryThroughHTTPSender(t *testing.T) {
	p := newProvider(t, status(503), status(429, "Retry-After", "1"))
	var waits []time.Duration
	r := &sms.Retry{
		Sender: newSender(t, p.URL, nil),
		Sleep:  func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil },
		Jitter: func(d time.Duration) time.Duration { return d },
		Logger: slog.New(slog.DiscardHandler),
	}
	rc, err := r.Send(context.Background(), msg)
	require.NoError(t, err)
	assert.Equal(t, "msg-3", rc.Sid)
	assert.Equal(t, []time.Duration{200 * time.Millisecond, time.Second}, waits)
}

func TestNewRejects(t *testing.T) {
	tests := []httpsender.Config{
		{URL: "", Secrets: signature.Secrets{LoginRadius: "x"}},
		{URL: "ftp://example.com", Secrets: signature.Secrets{LoginRadius: "x"}},
		{URL: "/relative", Secrets: signature.Secrets{LoginRadius: "x"}},
		{URL: "https://example.com/sms"},
		{URL: "https://example.com/sms", Secrets: signature.Secrets{Standard: "not-whsec"}},
	}
	for _, cfg := range tests {
		_, err := httpsender.New(cfg)
		require.ErrorIs(t, err, httpsender.ErrInvalidConfig, "%+v", cfg)
	}
}

func TestReceiverVerifiesWithSignaturePackage(t *testing.T) {
	p := newProvider(t)
	_, err := newSender(t, p.URL, nil).Send(context.Background(), msg)
	require.NoError(t, err)
	got := p.requests()[0]
	v := signature.Verifier{Secrets: signature.Secrets{LoginRadius: lrSecret, Standard: stdSecret}, Clock: fixedClock(now)}
	assert.NoError(t, v.Verify(got.header, got.body))
	assert.ErrorIs(t, signature.Verify(got.header, append(got.body, ' '), signature.Secrets{LoginRadius: lrSecret}), signature.ErrInvalid)
}

func TestLogsMaskPhone(t *testing.T) {
	var buf strings.Builder
	p := newProvider(t)
	s := newSender(t, p.URL, func(c *httpsender.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	_, err := s.Send(context.Background(), msg)
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "to=+91******9999")
	assert.Contains(t, buf.String(), "sid=msg-1")
	assert.NotContains(t, buf.String(), phone)
	assert.NotContains(t, buf.String(), code)
	assert.NotContains(t, buf.String(), lrSecret)
}

func TestSendNamesTheChannel(t *testing.T) {
	p := newProvider(t)
	s := newSender(t, p.URL+"/sms", nil)
	for _, c := range []sms.Channel{sms.ChannelWhatsApp, sms.ChannelSMS, ""} {
		m := msg
		m.Channel = c
		_, err := s.Send(context.Background(), m)
		require.NoError(t, err)
	}
	voice := msg
	voice.Channel, voice.Voice = sms.ChannelWhatsApp, true
	_, err := s.Send(context.Background(), voice)
	require.NoError(t, err)
	reqs := p.requests()
	require.Len(t, reqs, 4)
	assert.JSONEq(t, `{"tenant":"acme","to":"+919999999999","body":"Acme: 482915 is your code","code":"482915","voice":false,"channel":"whatsapp"}`, string(reqs[0].body))
	for _, r := range reqs[1:] {
		assert.NotContains(t, string(r.body), "channel", "SMS and voice bodies are as before channels")
	}
}

// fixedClock is a clock stopped at one instant.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }
