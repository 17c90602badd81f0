package sms

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// LogSender is the development sender: it sends nothing and writes each
// message, code included, as one line to W, for example
//
//	sms tenant=acme to=+919999999999 voice=false code=123456 sid=SM5c... body="Acme: 123456 is your ..."
//
// with channel=whatsapp after voice= for a WhatsApp message. It answers
// with a Twilio-shaped Receipt (AccountSid "AC" + 32 hex digits,
// stable for the sender; Sid "SM" or, for a voice code, "CA" + 32 hex digits).
// Never use it in production: the line holds the code and the full phone.
//
// The zero value writes to os.Stderr with ids from crypto/rand. A LogSender
// is safe for concurrent use; lines are never interleaved.
type LogSender struct {
	// W receives the lines; os.Stderr when nil.
	W io.Writer
	// Rand is the source of the ids; crypto/rand when nil.
	Rand io.Reader
	// AccountSid is answered in every Receipt; when empty, one is made
	// from Rand on first use and kept.
	AccountSid string

	mu sync.Mutex
}

// Send writes m as one line and returns a made-up Receipt. It fails (with
// ErrSendFailed) only when W fails or ctx is done.
func (s *LogSender) Send(ctx context.Context, m Message) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, fmt.Errorf("%w: %w", ErrSendFailed, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.receiptLocked(m)
	w := s.W
	if w == nil {
		w = os.Stderr
	}
	channel := "" // SMS lines stay as they were before channels
	if !m.Voice && !m.Channel.IsSMS() {
		channel = " channel=" + logValue(string(m.Channel))
	}
	line := fmt.Sprintf("sms tenant=%s to=%s voice=%t%s code=%s sid=%s body=%s\n",
		logValue(m.TenantID), logValue(m.To), m.Voice, channel, logValue(m.Code), r.Sid, strconv.Quote(m.Body))
	if _, err := io.WriteString(w, line); err != nil {
		return Receipt{}, fmt.Errorf("%w: log sender: %w", ErrSendFailed, err)
	}
	return r, nil
}

func (s *LogSender) receiptLocked(m Message) Receipt {
	if s.AccountSid == "" {
		s.AccountSid = NewSid(sidPrefixAccount, s.Rand)
	}
	return Receipt{AccountSid: s.AccountSid, Sid: NewSid(SidPrefix(m.Voice), s.Rand)}
}

// logValue quotes v when it is empty or would break the key=value line.
func logValue(v string) string {
	if v == "" || strings.ContainsFunc(v, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '=' || r == 0x7f || !strconv.IsPrint(r)
	}) {
		return strconv.Quote(v)
	}
	return v
}
