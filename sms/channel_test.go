package sms_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/sms"
)

// channelSender records the channel of each message and fails the
// channels in fail.
type channelSender struct {
	mu    sync.Mutex
	calls []sms.Channel
	fail  map[sms.Channel]error
	block map[sms.Channel]bool // wait for the context instead
}

func (s *channelSender) Send(ctx context.Context, m sms.Message) (sms.Receipt, error) {
	s.mu.Lock()
	s.calls = append(s.calls, m.Channel)
	n := len(s.calls)
	err, block := s.fail[m.Channel], s.block[m.Channel]
	s.mu.Unlock()
	if block {
		<-ctx.Done()
		return sms.Receipt{}, fmt.Errorf("%w: %w", sms.ErrSendFailed, ctx.Err())
	}
	if err != nil {
		return sms.Receipt{}, err
	}
	return sms.Receipt{AccountSid: "AC" + fmt.Sprintf("%032x", 7), Sid: fmt.Sprintf("SM%032x", n)}, nil
}

func (s *channelSender) channels() []sms.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sms.Channel(nil), s.calls...)
}

var errWhatsApp = fmt.Errorf("%w: whatsapp: error 63016", sms.ErrSendFailed)

func TestChannelFallback(t *testing.T) {
	tests := []struct {
		name    string
		def     sms.Channel
		tenants map[string]sms.Channel
		msg     sms.Message
		fail    map[sms.Channel]error
		want    []sms.Channel
	}{
		{"message asks for WhatsApp", "", nil, sms.Message{TenantID: "acme", Channel: sms.ChannelWhatsApp}, nil,
			[]sms.Channel{sms.ChannelWhatsApp}},
		{"tenant prefers WhatsApp", "", map[string]sms.Channel{"acme": sms.ChannelWhatsApp}, sms.Message{TenantID: "acme"}, nil,
			[]sms.Channel{sms.ChannelWhatsApp}},
		{"default WhatsApp, tenant SMS", sms.ChannelWhatsApp, map[string]sms.Channel{"acme": sms.ChannelSMS}, sms.Message{TenantID: "acme"}, nil,
			[]sms.Channel{sms.ChannelSMS}},
		{"default WhatsApp, other tenant", sms.ChannelWhatsApp, map[string]sms.Channel{"globex": sms.ChannelSMS}, sms.Message{TenantID: "acme"}, nil,
			[]sms.Channel{sms.ChannelWhatsApp}},
		{"nothing set: SMS", "", nil, sms.Message{TenantID: "acme"}, nil,
			[]sms.Channel{sms.ChannelSMS}},
		{"WhatsApp fails: SMS", sms.ChannelWhatsApp, nil, sms.Message{TenantID: "acme"}, map[sms.Channel]error{sms.ChannelWhatsApp: errWhatsApp},
			[]sms.Channel{sms.ChannelWhatsApp, sms.ChannelSMS}},
		{"voice ignores the channel", sms.ChannelWhatsApp, nil, sms.Message{TenantID: "acme", Voice: true}, map[sms.Channel]error{sms.ChannelWhatsApp: errWhatsApp},
			[]sms.Channel{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &channelSender{fail: tt.fail}
			f := &sms.ChannelFallback{Sender: s, Default: tt.def, Tenants: tt.tenants, Logger: discard()}
			tt.msg.To, tt.msg.Code = "+919999999999", "123456"
			r, err := f.Send(context.Background(), tt.msg)
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.channels())
			assert.Regexp(t, `^AC[0-9a-f]{32}$`, r.AccountSid)
			assert.Regexp(t, `^SM[0-9a-f]{32}$`, r.Sid)
		})
	}
}

func TestChannelFallbackLogsWithoutSecrets(t *testing.T) {
	log, buf := newLogger()
	s := &channelSender{fail: map[sms.Channel]error{sms.ChannelWhatsApp: errWhatsApp}}
	f := &sms.ChannelFallback{Sender: s, Default: sms.ChannelWhatsApp, Logger: log}
	_, err := f.Send(context.Background(), sms.Message{TenantID: "acme", To: "+919999999999", Code: "482915", Body: "482915"})
	require.NoError(t, err)
	out := buf.String()
	assert.Contains(t, out, "sending by SMS")
	assert.Contains(t, out, "channel=whatsapp")
	assert.Contains(t, out, "63016")
	assert.NotContains(t, out, "482915")
	assert.NotContains(t, out, "+919999999999")
}

func TestChannelFallbackBothFail(t *testing.T) {
	errSMS := fmt.Errorf("%w: sms down", sms.ErrSendFailed)
	s := &channelSender{fail: map[sms.Channel]error{sms.ChannelWhatsApp: errWhatsApp, sms.ChannelSMS: errSMS}}
	f := &sms.ChannelFallback{Sender: s, Default: sms.ChannelWhatsApp, Logger: discard()}
	_, err := f.Send(context.Background(), sms.Message{TenantID: "acme", To: "+919999999999"})
	var fe *sms.FailoverError
	require.ErrorAs(t, err, &fe)
	require.Len(t, fe.Errs, 2)
	assert.ErrorIs(t, err, errWhatsApp)
	assert.ErrorIs(t, err, errSMS)
	assert.ErrorIs(t, err, sms.ErrSendFailed)
	assert.Contains(t, err.Error(), "whatsapp: ")
	assert.Contains(t, err.Error(), "sms: ")
}

func TestChannelFallbackCallerGone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &channelSender{fail: map[sms.Channel]error{sms.ChannelWhatsApp: errWhatsApp}}
	f := &sms.ChannelFallback{Sender: sms.SenderFunc(func(c context.Context, m sms.Message) (sms.Receipt, error) {
		cancel() // the caller gives up while WhatsApp fails
		return s.Send(c, m)
	}), Default: sms.ChannelWhatsApp, Logger: discard()}
	_, err := f.Send(ctx, sms.Message{TenantID: "acme"})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, []sms.Channel{sms.ChannelWhatsApp}, s.channels(), "no SMS once the caller is gone")
}

func TestChannelFallbackTimeoutLeavesTimeForSMS(t *testing.T) {
	s := &channelSender{block: map[sms.Channel]bool{sms.ChannelWhatsApp: true}}
	f := &sms.ChannelFallback{Sender: s, Default: sms.ChannelWhatsApp, Timeout: time.Millisecond, Logger: discard()}
	_, err := f.Send(context.Background(), sms.Message{TenantID: "acme"})
	require.NoError(t, err)
	assert.Equal(t, []sms.Channel{sms.ChannelWhatsApp, sms.ChannelSMS}, s.channels())
}

func TestByChannel(t *testing.T) {
	wa, text := &channelSender{}, &channelSender{}
	b := sms.ByChannel{sms.ChannelWhatsApp: wa, sms.ChannelSMS: text}
	for _, m := range []sms.Message{
		{Channel: sms.ChannelWhatsApp},
		{},
		{Channel: sms.ChannelSMS},
		{Channel: sms.ChannelWhatsApp, Voice: true},
	} {
		_, err := b.Send(context.Background(), m)
		require.NoError(t, err)
	}
	assert.Equal(t, []sms.Channel{sms.ChannelWhatsApp}, wa.channels())
	assert.Equal(t, []sms.Channel{"", sms.ChannelSMS, sms.ChannelWhatsApp}, text.channels(), "voice goes to the SMS sender")

	// A channel without a sender: ErrNoChannel, and ChannelFallback sends by SMS.
	smsOnly := sms.ByChannel{sms.ChannelSMS: text}
	_, err := smsOnly.Send(context.Background(), sms.Message{Channel: sms.ChannelWhatsApp})
	require.ErrorIs(t, err, sms.ErrNoChannel)
	require.ErrorIs(t, err, sms.ErrSendFailed)
	f := &sms.ChannelFallback{Sender: smsOnly, Default: sms.ChannelWhatsApp, Logger: discard()}
	_, err = f.Send(context.Background(), sms.Message{TenantID: "acme"})
	require.NoError(t, err)
	assert.Equal(t, []sms.Channel{"", sms.ChannelSMS, sms.ChannelWhatsApp, sms.ChannelSMS}, text.channels())
}
