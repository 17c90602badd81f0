package sms_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/sms"
)

var sidRe = regexp.MustCompile(`^(AC|SM|CA)[0-9a-f]{32}$`)

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestNewSid(t *testing.T) {
	fixed := bytes.NewReader(bytes.Repeat([]byte{0xab}, 16))
	assert.Equal(t, "SM"+strings.Repeat("ab", 16), sms.NewSid("SM", fixed))

	a, b := sms.NewSid("SM", nil), sms.NewSid("SM", nil)
	assert.Regexp(t, sidRe, a)
	assert.NotEqual(t, a, b, "crypto/rand ids must differ")

	// A short or failing reader falls back to crypto/rand, never a
	// predictable id.
	c := sms.NewSid("CA", failingReader{})
	assert.Regexp(t, sidRe, c)
	assert.NotEqual(t, "CA"+strings.Repeat("00", 16), c)
	assert.Regexp(t, sidRe, sms.NewSid("AC", bytes.NewReader([]byte{1, 2, 3})))
}

func TestSidPrefix(t *testing.T) {
	assert.Equal(t, "SM", sms.SidPrefix(false))
	assert.Equal(t, "CA", sms.SidPrefix(true))
}

func TestImitate(t *testing.T) {
	plain := sms.SenderFunc(func(context.Context, sms.Message) (sms.Receipt, error) {
		return sms.Receipt{}, errors.New("must not be called")
	})
	// A wrapper around a sender that is no Imitator makes Twilio-shaped ids.
	wrapped := &sms.Retry{Sender: plain}
	r := wrapped.Imitate(sms.Message{To: "+919999999999"})
	assert.Regexp(t, `^AC[0-9a-f]{32}$`, r.AccountSid)
	assert.Regexp(t, `^SM[0-9a-f]{32}$`, r.Sid)
	assert.Regexp(t, `^CA[0-9a-f]{32}$`, wrapped.Imitate(sms.Message{Voice: true}).Sid)

	// An Imitator answers itself, and wrappers pass the question through:
	// the account SID must be the one real receipts carry.
	var buf bytes.Buffer
	ls := &sms.LogSender{W: &buf, AccountSid: "AC" + strings.Repeat("1", 32)}
	for _, s := range []sms.Imitator{ls, &sms.Retry{Sender: ls}, &sms.Failover{Senders: []sms.Sender{ls, plain}},
		&sms.ChannelFallback{Sender: ls}, sms.ByChannel{sms.ChannelSMS: ls}} {
		got := s.Imitate(sms.Message{To: "+919999999999"})
		assert.Equal(t, ls.AccountSid, got.AccountSid, "%T", s)
		assert.Regexp(t, `^SM[0-9a-f]{32}$`, got.Sid)
	}
	sent, err := ls.Send(context.Background(), sms.Message{To: "+919999999999", Body: "x"})
	require.NoError(t, err)
	fake := ls.Imitate(sms.Message{To: "+919999999998"})
	assert.Equal(t, sent.AccountSid, fake.AccountSid)
	assert.Len(t, fake.Sid, len(sent.Sid))
	assert.Equal(t, 1, strings.Count(buf.String(), "\n"), "Imitate must not write")
	assert.Regexp(t, `^AC[0-9a-f]{32}$`, (&sms.Failover{}).Imitate(sms.Message{}).AccountSid)
}
