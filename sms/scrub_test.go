package sms_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/otpreset/go/sms"
)

// echoError is a host sender's error that quotes the message it failed
// to send, as a careless provider client does; it asks to be retried.
type echoError struct{ m sms.Message }

func (e echoError) Error() string {
	return fmt.Sprintf("provider 503 for To=%s Body=%q", e.m.To, e.m.Body)
}
func (echoError) Retryable() bool { return true }

// TestLogsScrubSendersErrors: Retry, Failover and ChannelFallback log the
// error of the sender they wrap with the phone masked and the code removed.
func TestLogsScrubSendersErrors(t *testing.T) {
	echo := sms.SenderFunc(func(_ context.Context, m sms.Message) (sms.Receipt, error) { return sms.Receipt{}, echoError{m} })
	msg := sms.Message{TenantID: "acme", To: "+919876543210", Code: "482915", Body: "Your code is 482915", Channel: sms.ChannelWhatsApp}
	noSleep := func(context.Context, time.Duration) error { return nil }
	for name, wrap := range map[string]func(*sms.Retry) sms.Sender{
		"Retry": func(r *sms.Retry) sms.Sender { r.Sender, r.Sleep = echo, noSleep; return r },
		"Failover": func(r *sms.Retry) sms.Sender {
			return &sms.Failover{Senders: []sms.Sender{echo, echo}, Logger: r.Logger}
		},
		"ChannelFallback": func(r *sms.Retry) sms.Sender { return &sms.ChannelFallback{Sender: echo, Logger: r.Logger} },
	} {
		logger, logs := newLogger()
		_, err := wrap(&sms.Retry{Logger: logger}).Send(context.Background(), msg)
		assert.Error(t, err, name)
		out := logs.String()
		assert.Contains(t, out, "provider 503 for To=+91******3210", name)
		assert.Contains(t, out, "Your code is [digits]", name)
		assert.NotContains(t, out, "482915", name)
		assert.NotContains(t, out, "9876543210", name)
	}
}
