package twilio_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/sms/twilio"
)

const (
	whatsAppFrom = "+14155238886"
	contentSid   = "HX0123456789abcdef0123456789abcdef"
)

var whatsAppMsg = func() sms.Message {
	m := textMsg
	m.Channel = sms.ChannelWhatsApp
	return m
}()

func whatsAppRoute(c *twilio.Config) {
	c.Default.WhatsAppFrom = whatsAppFrom
	c.Default.WhatsAppContentSid = contentSid
}

func TestSendWhatsAppCodeThroughTemplate(t *testing.T) {
	f := newFakeTwilio(t)
	s := newSender(t, f, whatsAppRoute)
	r, err := s.Send(context.Background(), whatsAppMsg)
	require.NoError(t, err)
	assert.Equal(t, sms.Receipt{AccountSid: accountSid, Sid: "SM00000000000000000000000000000001"}, r)

	reqs := f.requests()
	require.Len(t, reqs, 1)
	req := reqs[0]
	assert.Equal(t, http.MethodPost, req.Method)
	assert.Equal(t, "/2010-04-01/Accounts/"+accountSid+"/Messages.json", req.Path)
	assert.Equal(t, "whatsapp:"+toNumber, req.Form.Get("To"))
	assert.Equal(t, "whatsapp:"+whatsAppFrom, req.Form.Get("From"))
	assert.Equal(t, contentSid, req.Form.Get("ContentSid"))
	assert.JSONEq(t, `{"1":"`+code+`"}`, req.Form.Get("ContentVariables"))
	assert.NotContains(t, req.Form, "Body", "Twilio refuses a Body beside a ContentSid")
	assert.NotContains(t, req.Form, "MessagingServiceSid")
}

func TestSendWhatsAppReceiptLikeSMS(t *testing.T) {
	f := newFakeTwilio(t)
	s := newSender(t, f, whatsAppRoute)
	viaSMS, err := s.Send(context.Background(), textMsg)
	require.NoError(t, err)
	viaWhatsApp, err := s.Send(context.Background(), whatsAppMsg)
	require.NoError(t, err)
	assert.Equal(t, viaSMS.AccountSid, viaWhatsApp.AccountSid)
	assert.Regexp(t, `^SM[0-9a-f]{32}$`, viaSMS.Sid)
	assert.Regexp(t, `^SM[0-9a-f]{32}$`, viaWhatsApp.Sid)
	reqs := f.requests()
	assert.Equal(t, toNumber, reqs[0].Form.Get("To"), "an SMS keeps the bare number")
	assert.Equal(t, fromNumber, reqs[0].Form.Get("From"))
}

func TestSendWhatsAppBody(t *testing.T) {
	notice := sms.Message{TenantID: "acme", To: toNumber, Body: "Acme: Your password was changed.", Channel: sms.ChannelWhatsApp}
	tests := []struct {
		name    string
		route   twilio.Route
		msg     sms.Message
		from    string
		service string
	}{
		{"no template: the code's Body", twilio.Route{WhatsAppFrom: whatsAppFrom}, whatsAppMsg, "whatsapp:" + whatsAppFrom, ""},
		{"a notice has no code: Body", twilio.Route{WhatsAppFrom: whatsAppFrom, WhatsAppContentSid: contentSid}, notice, "whatsapp:" + whatsAppFrom, ""},
		{"through a Messaging Service", twilio.Route{MessagingServiceSid: serviceSid}, whatsAppMsg, "", serviceSid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTwilio(t)
			s := newSender(t, f, func(c *twilio.Config) { c.Default = tt.route })
			_, err := s.Send(context.Background(), tt.msg)
			require.NoError(t, err)
			req := f.requests()[0]
			assert.Equal(t, "whatsapp:"+toNumber, req.Form.Get("To"))
			assert.Equal(t, tt.msg.Body, req.Form.Get("Body"))
			assert.NotContains(t, req.Form, "ContentSid")
			assert.Equal(t, tt.from, req.Form.Get("From"))
			assert.Equal(t, tt.service, req.Form.Get("MessagingServiceSid"))
		})
	}
}

func TestSendWhatsAppWithoutRoute(t *testing.T) {
	f := newFakeTwilio(t)
	s := newSender(t, f, nil) // From only: no WhatsApp sender
	_, err := s.Send(context.Background(), whatsAppMsg)
	require.ErrorIs(t, err, sms.ErrSendFailed)
	require.ErrorIs(t, err, sms.ErrNoChannel)
	require.ErrorIs(t, err, twilio.ErrNoRoute)

	m := textMsg
	m.Channel = "rcs"
	_, err = s.Send(context.Background(), m)
	require.ErrorIs(t, err, sms.ErrNoChannel)
	assert.Empty(t, f.requests(), "nothing reaches Twilio")
}

func TestSendWhatsAppErrorAnswer(t *testing.T) {
	f := newFakeTwilio(t, twilioError(400, twilio.CodeChannelFromNotFound, "Twilio could not find a Channel with the specified From address"))
	s := newSender(t, f, whatsAppRoute)
	_, err := s.Send(context.Background(), whatsAppMsg)
	var te *twilio.Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 400, te.Status)
	assert.Equal(t, 63007, te.Code)
	assert.Empty(t, te.MessageStatus)
	assert.True(t, te.Permanent())
}

func confirming(c *twilio.Config) {
	whatsAppRoute(c)
	c.ConfirmWhatsApp = 5 * time.Second
	c.ConfirmInterval = time.Millisecond
}

func TestConfirmWhatsApp(t *testing.T) {
	tests := []struct {
		name    string
		fetches []fetchReply
		stuck   string
		code    int    // expected error code; 0: success
		status  string // expected MessageStatus
		message string
		gets    int // fetches expected; -1: at least one
	}{
		{"delivered", []fetchReply{{status: "queued"}, {status: "sent"}}, "", 0, "", "", 2},
		{"read at once", []fetchReply{{status: "read"}}, "", 0, "", "", 1},
		{"outside the 24-hour window", []fetchReply{{status: "queued"}, {status: "failed", errorCode: 63016,
			errorMessage: "Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template."}},
			"", 63016, "failed", "Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.", 2},
		{"not a WhatsApp user, message names the phone", []fetchReply{{status: "undelivered", errorCode: 63003, errorMessage: "Channel could not find To address " + toNumber}},
			"", 63003, "undelivered", "Channel could not find To address +91******9999", 1},
		{"failed without a message", []fetchReply{{status: "failed", errorCode: 63016}}, "", 63016, "failed", "", 1},
		{"still queued when the watch ends: sent", nil, "queued", 0, "", "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTwilio(t)
			f.fetches, f.stuck = tt.fetches, tt.stuck
			s := newSender(t, f, func(c *twilio.Config) {
				confirming(c)
				if tt.stuck != "" {
					c.ConfirmWhatsApp = 20 * time.Millisecond
				}
			})
			r, err := s.Send(context.Background(), whatsAppMsg)
			gets := 0
			for _, req := range f.requests()[1:] {
				assert.Equal(t, http.MethodGet, req.Method)
				assert.Equal(t, "/2010-04-01/Accounts/"+accountSid+"/Messages/SM00000000000000000000000000000001.json", req.Path)
				assert.Equal(t, accountSid, req.User)
				gets++
			}
			if tt.gets >= 0 {
				assert.Equal(t, tt.gets, gets)
			} else {
				assert.Positive(t, gets)
			}
			if tt.code == 0 {
				require.NoError(t, err)
				assert.Equal(t, "SM00000000000000000000000000000001", r.Sid)
				return
			}
			require.ErrorIs(t, err, sms.ErrSendFailed)
			var te *twilio.Error
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tt.code, te.Code)
			assert.Equal(t, tt.status, te.MessageStatus)
			assert.Equal(t, tt.message, te.Message)
			assert.Zero(t, te.Status)
			assert.False(t, sms.IsRetryable(err))
			assert.Contains(t, err.Error(), "twilio: message "+tt.status)
			assertClean(t, err.Error())
		})
	}
}

func TestConfirmOnlyWhatsApp(t *testing.T) {
	f := newFakeTwilio(t)
	f.stuck = "failed"
	s := newSender(t, f, confirming)
	_, err := s.Send(context.Background(), textMsg)
	require.NoError(t, err)
	assert.Len(t, f.requests(), 1, "an SMS is not watched")

	f2 := newFakeTwilio(t)
	f2.stuck = "failed"
	s2 := newSender(t, f2, whatsAppRoute) // ConfirmWhatsApp 0
	_, err = s2.Send(context.Background(), whatsAppMsg)
	require.NoError(t, err)
	assert.Len(t, f2.requests(), 1, "no watch unless configured")
}

func TestConfirmFetchFailsCountsAsSent(t *testing.T) {
	f := newFakeTwilio(t)
	e := twilioError(500, 20500, "Internal Server Error")
	f.fetchError = &e
	s := newSender(t, f, confirming)
	_, err := s.Send(context.Background(), whatsAppMsg)
	require.NoError(t, err)
	reqs := f.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, http.MethodGet, reqs[1].Method)
}

// TestWhatsAppFallsBackToSMS is the whole chain a host builds: WhatsApp
// first for the tenant, retries of 429/5xx, SMS when WhatsApp fails, and the
// same answer shape whichever channel served.
func TestWhatsAppFallsBackToSMS(t *testing.T) {
	tests := []struct {
		name    string
		replies []reply
		fetches []fetchReply
		want    []string // To of each POST
	}{
		{"WhatsApp delivers", nil, nil, []string{"whatsapp:" + toNumber}},
		{"error answer 63007", []reply{twilioError(400, 63007, "Twilio could not find a Channel with the specified From address")}, nil,
			[]string{"whatsapp:" + toNumber, toNumber}},
		{"failed later, 63016", nil, []fetchReply{{status: "failed", errorCode: 63016}},
			[]string{"whatsapp:" + toNumber, toNumber}},
		{"undelivered later, 63003", nil, []fetchReply{{status: "undelivered", errorCode: 63003}},
			[]string{"whatsapp:" + toNumber, toNumber}},
		{"retried 503, then WhatsApp", []reply{twilioError(503, 20503, "Service Unavailable")}, nil,
			[]string{"whatsapp:" + toNumber, "whatsapp:" + toNumber}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTwilio(t, tt.replies...)
			f.fetches = tt.fetches
			tw := newSender(t, f, confirming)
			s := &sms.ChannelFallback{
				Sender:  &sms.Retry{Sender: tw, Sleep: func(context.Context, time.Duration) error { return nil }},
				Tenants: map[string]sms.Channel{"acme": sms.ChannelWhatsApp},
				Logger:  slog.New(slog.DiscardHandler),
			}
			m := textMsg // the handler's message: no channel of its own
			r, err := s.Send(context.Background(), m)
			require.NoError(t, err)
			var posted []string
			for _, req := range f.requests() {
				if req.Method == http.MethodPost {
					posted = append(posted, req.Form.Get("To"))
				}
			}
			assert.Equal(t, tt.want, posted)
			assert.Equal(t, accountSid, r.AccountSid)
			assert.Regexp(t, `^SM[0-9a-f]{32}$`, r.Sid)
		})
	}
}

func TestNewRejectsWhatsApp(t *testing.T) {
	ok := twilio.Config{AccountSid: accountSid, AuthToken: authToken, Default: twilio.Route{WhatsAppFrom: whatsAppFrom}}
	tests := []struct {
		name string
		edit func(*twilio.Config)
	}{
		{"from with the prefix", func(c *twilio.Config) { c.Default.WhatsAppFrom = "whatsapp:" + whatsAppFrom }},
		{"from not E.164", func(c *twilio.Config) { c.Default.WhatsAppFrom = "14155238886" }},
		{"content not HX", func(c *twilio.Config) { c.Default.WhatsAppContentSid = serviceSid }},
		{"content without a sender", func(c *twilio.Config) {
			c.Default = twilio.Route{From: fromNumber, WhatsAppContentSid: contentSid}
		}},
		{"watch as long as the timeout", func(c *twilio.Config) { c.ConfirmWhatsApp = 10 * time.Second }},
		{"negative interval", func(c *twilio.Config) { c.ConfirmInterval = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := twilio.New(cfg)
			require.ErrorIs(t, err, twilio.ErrInvalidConfig)
		})
	}
	_, err := twilio.New(ok)
	require.NoError(t, err, "a WhatsApp sender alone is a route")
}
