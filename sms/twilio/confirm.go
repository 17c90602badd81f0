package twilio

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	twapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/otpreset/go/internal/scrub"
)

// Message statuses (https://www.twilio.com/docs/messaging/api/message-resource):
// those that end the watch of a WhatsApp message.
var (
	statusDone   = map[string]bool{"sent": true, "delivered": true, "read": true}
	statusFailed = map[string]bool{"failed": true, "undelivered": true, "canceled": true}
)

// confirm watches the WhatsApp message sid for up to ConfirmWhatsApp,
// fetching it until its status says it went out (nil) or failed (an *Error
// with the message's error code). It returns nil when the time runs out or
// a fetch fails: the message was accepted and may yet arrive, and sending
// it again by SMS would be the worse guess only when it did not.
func (s *Sender) confirm(ctx context.Context, sid, status string) error {
	if s.cfg.ConfirmWhatsApp <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConfirmWhatsApp)
	defer cancel()
	api, _ := s.api(ctx)
	var msg *twapi.ApiV2010Message
	for {
		switch {
		case statusDone[status]:
			return nil
		case statusFailed[status]:
			e := &Error{MessageStatus: status}
			if msg != nil {
				if msg.ErrorCode != nil {
					e.Code = *msg.ErrorCode
					e.MoreInfo = fmt.Sprintf("https://www.twilio.com/docs/errors/%d", e.Code)
				}
				e.Message = redact(deref(msg.ErrorMessage))
			}
			return e
		}
		t := time.NewTimer(s.confirmEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			s.log.LogAttrs(ctx, slog.LevelDebug, "sms: twilio WhatsApp message still on its way", slog.String("sid", sid), slog.String("status", status))
			return nil
		case <-t.C:
		}
		m, err := api.FetchMessage(sid, &twapi.FetchMessageParams{})
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelDebug, "sms: twilio WhatsApp message status unknown", slog.String("sid", sid), slog.String("error", scrub.Error(err)))
			return nil
		}
		msg, status = m, deref(m.Status)
	}
}
