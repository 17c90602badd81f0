package sms_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/sms"
)

func TestLogSenderWritesOneLine(t *testing.T) {
	var buf bytes.Buffer
	s := &sms.LogSender{W: &buf}
	m := sms.Message{TenantID: "acme", To: "+919999999999", Code: "123456",
		Body: "Acme: 123456 is your code.\n\n@example.com #123456"}
	r, err := s.Send(context.Background(), m)
	require.NoError(t, err)
	assert.Regexp(t, `^AC[0-9a-f]{32}$`, r.AccountSid)
	assert.Regexp(t, `^SM[0-9a-f]{32}$`, r.Sid)

	line := buf.String()
	assert.Equal(t, 1, strings.Count(line, "\n"), "exactly one line: %q", line)
	assert.True(t, strings.HasPrefix(line, "sms tenant=acme to=+919999999999 voice=false code=123456 sid="+r.Sid+" body="), line)
	assert.Contains(t, line, `body="Acme: 123456 is your code.\n\n@example.com #123456"`)

	r2, err := s.Send(context.Background(), sms.Message{TenantID: "acme", To: "+919999999999", Code: "654321", Voice: true})
	require.NoError(t, err)
	assert.Equal(t, r.AccountSid, r2.AccountSid, "the account stays the same")
	assert.Regexp(t, `^CA[0-9a-f]{32}$`, r2.Sid)
	assert.Contains(t, buf.String(), "voice=true code=654321")

	r3, err := s.Send(context.Background(), sms.Message{TenantID: "acme", To: "+919999999999", Code: "111222", Channel: sms.ChannelWhatsApp})
	require.NoError(t, err)
	assert.Regexp(t, `^SM[0-9a-f]{32}$`, r3.Sid, "the same receipt form on WhatsApp")
	assert.Contains(t, buf.String(), "voice=false channel=whatsapp code=111222")
}

func TestLogSenderQuotesOddValues(t *testing.T) {
	var buf bytes.Buffer
	s := &sms.LogSender{W: &buf}
	_, err := s.Send(context.Background(), sms.Message{TenantID: "a b\nc", To: "+1 415", Body: "x"})
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(buf.String(), "\n"))
	assert.Contains(t, buf.String(), `tenant="a b\nc" to="+1 415" voice=false code="" `)
}

func TestLogSenderConcurrentLinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	s := &sms.LogSender{W: &buf}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			_, err := s.Send(context.Background(), sms.Message{To: fmt.Sprintf("+9199999%05d", i), Body: strings.Repeat("x", 200)})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 50)
	for _, l := range lines {
		assert.Regexp(t, `^sms tenant="" to=\+9199999\d{5} voice=false code="" sid=SM[0-9a-f]{32} body="x{200}"$`, l)
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogSenderFailures(t *testing.T) {
	_, err := (&sms.LogSender{W: errWriter{}}).Send(context.Background(), sms.Message{To: "+919999999999"})
	require.ErrorIs(t, err, sms.ErrSendFailed)
	assert.Contains(t, err.Error(), "disk full")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	_, err = (&sms.LogSender{W: &buf}).Send(ctx, sms.Message{To: "+919999999999"})
	require.ErrorIs(t, err, sms.ErrSendFailed)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, buf.String())
}
