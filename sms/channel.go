package sms

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/otpreset/go/internal/scrub"
)

// ChannelFallback is a Sender that sends each text on its preferred channel
// and, when that fails, once more by SMS: a phone without WhatsApp, a
// template Meta has not approved or a WhatsApp outage still gets its code,
// and the answer (a Receipt of the same form) does not show which channel
// served it.
//
// The preferred channel is the message's Channel when set, else the
// tenant's in Tenants, else Default, else SMS. Voice codes and texts whose
// preferred channel is SMS go straight to Sender. Sender must understand
// Message.Channel (twilio.Sender does; ByChannel routes each channel to its
// own sender). Zero fields take the defaults documented on them; a
// ChannelFallback is safe for concurrent use once configured.
//
// A WhatsApp message that times out may still arrive after the SMS: for a
// one-time code (the same code twice) that is harmless.
type ChannelFallback struct {
	// Sender sends on every channel.
	Sender Sender
	// Default is the preferred channel of tenants not in Tenants; SMS
	// when empty.
	Default Channel
	// Tenants are preferred channels by tenant id.
	Tenants map[string]Channel
	// Timeout bounds the preferred channel's turn, so that the SMS still
	// fits in the caller's deadline; default 10 s. Give it room
	// for the sender's own delivery check (twilio.Config.ConfirmWhatsApp).
	Timeout time.Duration
	// Logger receives a warning per fallback (phone masked, no code). Nil
	// means slog.Default().
	Logger *slog.Logger
}

// preferred returns the channel a text of tenant is tried on first when the
// message names none.
func (f *ChannelFallback) preferred(tenant string) Channel {
	if c, ok := f.Tenants[tenant]; ok && c != "" {
		return c
	}
	if f.Default != "" {
		return f.Default
	}
	return ChannelSMS
}

// Send sends m on its preferred channel, then by SMS if that fails. When
// both fail the error is a *FailoverError holding both errors.
func (f *ChannelFallback) Send(ctx context.Context, m Message) (Receipt, error) {
	if m.Voice {
		return f.Sender.Send(ctx, m)
	}
	first := m.Channel
	if first == "" {
		first = f.preferred(m.TenantID)
	}
	if first.IsSMS() {
		m.Channel = ChannelSMS
		return f.Sender.Send(ctx, m)
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	m.Channel = first
	fctx, cancel := context.WithTimeout(ctx, timeout)
	r, err := f.Sender.Send(fctx, m)
	cancel()
	if err == nil {
		return r, nil
	}
	firstErr := fmt.Errorf("%s: %w", first, err)
	if ctx.Err() != nil {
		return Receipt{}, &FailoverError{Errs: []error{firstErr, ctx.Err()}}
	}
	f.logger().LogAttrs(ctx, slog.LevelWarn, "sms: channel failed, sending by SMS",
		slog.String("to", MaskPhone(m.To)), slog.String("tenant", m.TenantID),
		slog.String("channel", string(first)), slog.String("error", scrub.Error(err)))
	m.Channel = ChannelSMS
	r, err = f.Sender.Send(ctx, m)
	if err == nil {
		return r, nil
	}
	return Receipt{}, &FailoverError{Errs: []error{firstErr, fmt.Errorf("%s: %w", ChannelSMS, err)}}
}

func (f *ChannelFallback) logger() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.Default()
}

// ByChannel is a Sender that hands each message to the sender of its
// channel (the SMS sender for voice codes and for an empty Channel), for
// hosts whose WhatsApp and SMS come from different providers. A channel
// without a sender fails with ErrNoChannel, which ChannelFallback answers
// by sending the text by SMS.
type ByChannel map[Channel]Sender

// Send passes m to the sender of its channel.
func (b ByChannel) Send(ctx context.Context, m Message) (Receipt, error) {
	c := m.Channel
	if m.Voice || c.IsSMS() {
		c = ChannelSMS
	}
	s, ok := b[c]
	if !ok {
		return Receipt{}, fmt.Errorf("%w: %w: no sender for %q", ErrSendFailed, ErrNoChannel, c)
	}
	return s.Send(ctx, m)
}
