package twilio_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/sms/twilio"
)

var textMsg = sms.Message{
	TenantID: "acme",
	To:       toNumber,
	Body:     "Acme: " + code + " is your password reset code.\n\n@example.com #" + code,
	Code:     code,
}

func newSender(t *testing.T, f *fakeTwilio, edit func(*twilio.Config)) *twilio.Sender {
	t.Helper()
	cfg := twilio.Config{
		AccountSid: accountSid,
		AuthToken:  authToken,
		Default:    twilio.Route{From: fromNumber},
		BaseURL:    f.URL,
		Logger:     slog.New(slog.DiscardHandler),
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := twilio.New(cfg)
	require.NoError(t, err)
	return s
}

func TestSendText(t *testing.T) {
	f := newFakeTwilio(t)
	s := newSender(t, f, nil)
	r, err := s.Send(context.Background(), textMsg)
	require.NoError(t, err)
	assert.Equal(t, sms.Receipt{AccountSid: accountSid, Sid: "SM00000000000000000000000000000001"}, r)

	reqs := f.requests()
	require.Len(t, reqs, 1)
	req := reqs[0]
	assert.Equal(t, http.MethodPost, req.Method)
	assert.Equal(t, "/2010-04-01/Accounts/"+accountSid+"/Messages.json", req.Path)
	assert.Equal(t, "application/x-www-form-urlencoded", req.ContentType)
	assert.True(t, req.HasAuth)
	assert.Equal(t, accountSid, req.User)
	assert.Equal(t, authToken, req.Password)
	assert.Equal(t, toNumber, req.Form.Get("To"))
	assert.Equal(t, fromNumber, req.Form.Get("From"))
	assert.Equal(t, textMsg.Body, req.Form.Get("Body"))
	assert.NotContains(t, req.Form, "MessagingServiceSid")
}

func TestSendTextRoutesByTenant(t *testing.T) {
	f := newFakeTwilio(t)
	s := newSender(t, f, func(c *twilio.Config) {
		c.Tenants = map[string]twilio.Route{
			"acme":   {MessagingServiceSid: serviceSid},
			"globex": {From: "Globex"},
		}
	})
	for _, tenant := range []string{"acme", "globex", "other"} {
		m := textMsg
		m.TenantID = tenant
		_, err := s.Send(context.Background(), m)
		require.NoError(t, err, tenant)
	}
	reqs := f.requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, serviceSid, reqs[0].Form.Get("MessagingServiceSid"))
	assert.NotContains(t, reqs[0].Form, "From")
	assert.Equal(t, "Globex", reqs[1].Form.Get("From"))
	assert.NotContains(t, reqs[1].Form, "MessagingServiceSid")
	assert.Equal(t, fromNumber, reqs[2].Form.Get("From"), "unknown tenant: default route")
}

func TestSendWithAPIKey(t *testing.T) {
	f := newFakeTwilio(t)
	s := newSender(t, f, func(c *twilio.Config) {
		c.AuthToken, c.APIKeySid, c.APIKeySecret = "", keySid, keySecret
	})
	r, err := s.Send(context.Background(), textMsg)
	require.NoError(t, err)
	assert.Equal(t, accountSid, r.AccountSid)
	req := f.requests()[0]
	assert.Equal(t, "/2010-04-01/Accounts/"+accountSid+"/Messages.json", req.Path, "the path names the account, not the key")
	assert.Equal(t, keySid, req.User)
	assert.Equal(t, keySecret, req.Password)
}

// twiml is the part of TwiML a voice code uses.
type twiml struct {
	XMLName xml.Name `xml:"Response"`
	Verbs   []struct {
		XMLName  xml.Name
		Voice    string `xml:"voice,attr"`
		Language string `xml:"language,attr"`
		Length   string `xml:"length,attr"`
		Text     string `xml:",chardata"`
	} `xml:",any"`
}

func TestSendVoice(t *testing.T) {
	f := newFakeTwilio(t)
	s := newSender(t, f, func(c *twilio.Config) {
		c.Default.VoiceFrom = "+15005550007"
		c.VoiceLanguage, c.Voice = "en-IN", "Polly.Aditi"
		c.VoiceIntro = "Your Acme <reset> code is"
	})
	m := textMsg
	m.Voice = true
	r, err := s.Send(context.Background(), m)
	require.NoError(t, err)
	assert.Equal(t, sms.Receipt{AccountSid: accountSid, Sid: "CA00000000000000000000000000000001"}, r)

	req := f.requests()[0]
	assert.Equal(t, "/2010-04-01/Accounts/"+accountSid+"/Calls.json", req.Path)
	assert.Equal(t, toNumber, req.Form.Get("To"))
	assert.Equal(t, "+15005550007", req.Form.Get("From"))
	assert.NotContains(t, req.Form, "Url")
	raw := req.Form.Get("Twiml")
	assert.LessOrEqual(t, len(raw), 4000, "Twilio's limit for Twiml")
	var doc twiml
	require.NoError(t, xml.Unmarshal([]byte(raw), &doc), raw)
	var said []string
	for _, v := range doc.Verbs {
		switch v.XMLName.Local {
		case "Say":
			assert.Equal(t, "Polly.Aditi", v.Voice)
			assert.Equal(t, "en-IN", v.Language)
			said = append(said, v.Text)
		case "Pause":
			assert.NotEmpty(t, v.Length)
		default:
			t.Errorf("unexpected verb %s", v.XMLName.Local)
		}
	}
	want := "Your Acme <reset> code is 4, 8, 2, 9, 1, 5."
	assert.Equal(t, []string{want, want}, said, "the digits, one by one, twice")
	assert.Equal(t, "Pause", doc.Verbs[0].XMLName.Local, "a pause while the callee lifts the phone")
}

func TestSendVoiceDefaults(t *testing.T) {
	f := newFakeTwilio(t)
	s := newSender(t, f, nil)
	m := textMsg
	m.Voice, m.Code = true, "0042"
	_, err := s.Send(context.Background(), m)
	require.NoError(t, err)
	req := f.requests()[0]
	assert.Equal(t, fromNumber, req.Form.Get("From"), "From doubles as VoiceFrom")
	assert.Contains(t, req.Form.Get("Twiml"), "<Say>"+twilio.DefaultVoiceIntro+" 0, 0, 4, 2.</Say>")
}

func TestSendNoRoute(t *testing.T) {
	f := newFakeTwilio(t)
	s := newSender(t, f, func(c *twilio.Config) {
		c.Default = twilio.Route{}
		c.Tenants = map[string]twilio.Route{"svc": {MessagingServiceSid: serviceSid}, "voice": {VoiceFrom: fromNumber}}
	})
	tests := []struct {
		tenant string
		voice  bool
	}{{"svc", true}, {"voice", false}, {"unknown", false}, {"unknown", true}}
	for _, tt := range tests {
		m := textMsg
		m.TenantID, m.Voice = tt.tenant, tt.voice
		_, err := s.Send(context.Background(), m)
		require.ErrorIs(t, err, twilio.ErrNoRoute, "%+v", tt)
		require.ErrorIs(t, err, sms.ErrSendFailed)
		assert.False(t, sms.IsRetryable(err))
	}
	m := textMsg
	m.TenantID, m.Voice, m.Code = "voice", true, ""
	_, err := s.Send(context.Background(), m)
	require.ErrorIs(t, err, sms.ErrSendFailed)
	assert.Empty(t, f.requests(), "nothing reaches Twilio")
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		reply     reply
		status    int
		code      int
		retryable bool
		wait      time.Duration
	}{
		{"invalid To", twilioError(400, 21211, "The 'To' number "+toNumber+" is not a valid phone number."), 400, 21211, false, 0},
		{"not a mobile", twilioError(400, 21614, "'To' number is not a valid mobile number"), 400, 21614, false, 0},
		{"unsubscribed", twilioError(400, 21610, "Attempt to send to unsubscribed recipient"), 400, 21610, false, 0},
		{"bad credentials", twilioError(401, 20003, "Authenticate"), 401, 20003, false, 0},
		{"too many requests", func() reply {
			r := twilioError(429, 20429, "Too Many Requests")
			r.header = map[string]string{"Retry-After": "2"}
			return r
		}(), 429, 20429, true, 2 * time.Second},
		{"internal error", twilioError(500, 20500, "Internal Server Error"), 500, 20500, true, 0},
		{"proxy 502 page", reply{status: 502, body: "<html><body>Bad Gateway</body></html>"}, 502, 0, true, 0},
		{"empty 503", reply{status: 503, header: map[string]string{"Retry-After": "1"}}, 503, 0, true, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTwilio(t, tt.reply)
			s := newSender(t, f, nil)
			for _, voice := range []bool{false, true} {
				f.mu.Lock()
				f.replies = []reply{tt.reply}
				f.mu.Unlock()
				m := textMsg
				m.Voice = voice
				_, err := s.Send(context.Background(), m)
				require.ErrorIs(t, err, sms.ErrSendFailed)
				var te *twilio.Error
				require.ErrorAs(t, err, &te)
				assert.Equal(t, tt.status, te.Status)
				assert.Equal(t, tt.code, te.Code)
				if tt.code != 0 {
					assert.Equal(t, "https://www.twilio.com/docs/errors/"+strconv.Itoa(tt.code), te.MoreInfo)
				}
				assert.Equal(t, tt.retryable, te.Retryable())
				assert.Equal(t, !tt.retryable, te.Permanent())
				assert.Equal(t, tt.retryable, sms.IsRetryable(err))
				got := te.RetryAfter()
				assert.Equal(t, tt.wait, got)
				assertClean(t, err.Error())
			}
		})
	}
}

func TestErrorMessageMasksThePhone(t *testing.T) {
	f := newFakeTwilio(t, twilioError(400, 21211, "The 'To' number "+toNumber+" is not a valid phone number."))
	_, err := newSender(t, f, nil).Send(context.Background(), textMsg)
	assert.EqualError(t, err, "twilio: HTTP 400, error 21211: The 'To' number +91******9999 is not a valid phone number. (https://www.twilio.com/docs/errors/21211)")
}

func TestSendTimeoutAndCancel(t *testing.T) {
	f := newFakeTwilio(t)
	f.block = true
	s := newSender(t, f, func(c *twilio.Config) { c.Timeout = 50 * time.Millisecond })
	start := time.Now()
	_, err := s.Send(context.Background(), textMsg)
	require.ErrorIs(t, err, sms.ErrSendFailed)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, sms.IsRetryable(err))
	assert.Less(t, time.Since(start), 5*time.Second)
	assertClean(t, err.Error())

	<-f.arrived
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-f.arrived
		cancel()
	}()
	s = newSender(t, f, func(c *twilio.Config) { c.Timeout = time.Minute })
	_, err = s.Send(ctx, textMsg)
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, sms.IsRetryable(err))
}

func TestSendUnreachable(t *testing.T) {
	f := newFakeTwilio(t)
	url := f.URL
	f.Close()
	s := newSender(t, f, func(c *twilio.Config) { c.BaseURL = url })
	_, err := s.Send(context.Background(), textMsg)
	require.ErrorIs(t, err, sms.ErrSendFailed)
	assert.True(t, sms.IsRetryable(err), "connection refused: %v", err)
	assertClean(t, err.Error())
}

func TestSendMalformedSuccess(t *testing.T) {
	for _, body := range []string{`{"status":"queued"}`, `not json`, ``} {
		f := newFakeTwilio(t, reply{status: 201, body: body})
		_, err := newSender(t, f, nil).Send(context.Background(), textMsg)
		require.ErrorIs(t, err, sms.ErrSendFailed, body)
		assert.False(t, sms.IsRetryable(err), "the message may have gone out: %v", err)
	}
}

func TestRetryHonoursTwilio429(t *testing.T) {
	r429 := twilioError(429, 20429, "Too Many Requests")
	r429.header = map[string]string{"Retry-After": "1"}
	f := newFakeTwilio(t, r429, twilioError(503, 20503, "Service Unavailable"))
	var waits []time.Duration
	r := &sms.Retry{
		Sender: newSender(t, f, nil),
		Sleep: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return nil
		},
		Jitter: func(d time.Duration) time.Duration { return d },
		Logger: slog.New(slog.DiscardHandler),
	}
	rc, err := r.Send(context.Background(), textMsg)
	require.NoError(t, err)
	assert.Equal(t, "SM00000000000000000000000000000003", rc.Sid)
	assert.Equal(t, []time.Duration{time.Second, 400 * time.Millisecond}, waits)
	assert.Len(t, f.requests(), 3)
}

func TestLogsMaskPhoneAndHideSecrets(t *testing.T) {
	var buf bytes.Buffer
	f := newFakeTwilio(t)
	s := newSender(t, f, func(c *twilio.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	_, err := s.Send(context.Background(), textMsg)
	require.NoError(t, err)
	m := textMsg
	m.Voice = true
	_, err = s.Send(context.Background(), m)
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "to=+91******9999")
	assert.Contains(t, buf.String(), "sid=SM00000000000000000000000000000001")
	assertClean(t, buf.String())
}

func TestAccountSid(t *testing.T) {
	f := newFakeTwilio(t)
	s := newSender(t, f, nil)
	assert.Equal(t, accountSid, s.AccountSid())
	assert.Empty(t, f.requests())
}

func TestNewRejects(t *testing.T) {
	ok := twilio.Config{AccountSid: accountSid, AuthToken: authToken, Default: twilio.Route{From: fromNumber}}
	tests := []struct {
		name string
		edit func(*twilio.Config)
	}{
		{"no account", func(c *twilio.Config) { c.AccountSid = "" }},
		{"account not AC", func(c *twilio.Config) { c.AccountSid = keySid }},
		{"no credentials", func(c *twilio.Config) { c.AuthToken = "" }},
		{"token with odd characters", func(c *twilio.Config) { c.AuthToken = "abc/def" }},
		{"key without secret", func(c *twilio.Config) { c.APIKeySid = keySid }},
		{"key not SK", func(c *twilio.Config) { c.APIKeySid, c.APIKeySecret = accountSid, keySecret }},
		{"no route", func(c *twilio.Config) { c.Default = twilio.Route{} }},
		{"bad service", func(c *twilio.Config) { c.Default.MessagingServiceSid = "MG123" }},
		{"empty tenant route", func(c *twilio.Config) { c.Tenants = map[string]twilio.Route{"a": {}} }},
		{"bad base URL", func(c *twilio.Config) { c.BaseURL = "api.twilio.com" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := twilio.New(cfg)
			require.ErrorIs(t, err, twilio.ErrInvalidConfig)
			assertClean(t, err.Error())
		})
	}
	_, err := twilio.New(ok)
	require.NoError(t, err)
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"TWILIO_ACCOUNT_SID":           accountSid,
		"TWILIO_AUTH_TOKEN":            authToken,
		"TWILIO_MESSAGING_SERVICE_SID": serviceSid,
		"TWILIO_FROM":                  fromNumber,
		"TWILIO_VOICE_FROM":            "+15005550007",
	}
	cfg := twilio.ConfigFromEnv(func(k string) string { return env[k] })
	assert.Equal(t, twilio.Config{
		AccountSid: accountSid,
		AuthToken:  authToken,
		Default:    twilio.Route{MessagingServiceSid: serviceSid, From: fromNumber, VoiceFrom: "+15005550007"},
	}, cfg)
	_, err := twilio.New(cfg)
	require.NoError(t, err)
}

// assertClean checks that s carries no secret, no code, no full phone.
func assertClean(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{authToken, keySecret, code, toNumber, strings.TrimPrefix(toNumber, "+")} {
		assert.NotContains(t, s, secret)
	}
}
