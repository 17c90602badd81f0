// Package sms defines the Sender that delivers one-time codes and the
// templates that word them. Senders: Twilio (messages and voice calls), a
// signed HTTP sender for any other provider, a failover chain, and the
// development log sender the quickstart uses. A text goes by SMS or, where
// the sender supports it, by WhatsApp (Message.Channel), with
// ChannelFallback resending by SMS when WhatsApp fails.
package sms

import (
	"context"
	"errors"
)

// Message is one code to deliver.
type Message struct {
	TenantID string
	// To is the phone number in E.164 form.
	To string
	// Body is the rendered text message.
	Body string
	// Code is the one-time code itself, for senders that need the digits
	// apart from the text (a voice call reads them). Never log it.
	Code string
	// Voice asks for a voice call instead of a text (isvoiceotp=true);
	// Channel is then ignored.
	Voice bool
	// Channel is how the text should travel; empty means ChannelSMS (see
	// ChannelFallback for a tenant's default channel).
	Channel Channel
}

// Channel is how a text reaches the phone. The receipt has the same form
// whichever channel served it.
type Channel string

// The channels a text may take.
const (
	// ChannelSMS is a plain text message; the zero Channel means it too.
	ChannelSMS Channel = "sms"
	// ChannelWhatsApp is a WhatsApp message (Twilio: "whatsapp:" addresses).
	ChannelWhatsApp Channel = "whatsapp"
)

// IsSMS reports whether c is ChannelSMS or empty.
func (c Channel) IsSMS() bool { return c == "" || c == ChannelSMS }

// Receipt identifies the sent message, as LoginRadius's answer shows it:
// Data{AccountSid, Sid} (Twilio's account and message ids).
type Receipt struct {
	AccountSid string
	Sid        string
}

// Sender delivers a Message.
type Sender interface {
	Send(ctx context.Context, m Message) (Receipt, error)
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m Message) (Receipt, error)

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, m Message) (Receipt, error) { return f(ctx, m) }

// ErrSendFailed is wrapped by every sender's delivery failure.
var ErrSendFailed = errors.New("sms: send failed")

// ErrNoChannel is wrapped (with ErrSendFailed) by a sender asked for a
// channel it cannot use, e.g. WhatsApp on a sender without a WhatsApp
// number. ChannelFallback then sends by SMS.
var ErrNoChannel = errors.New("sms: channel not available")
