package otpreset

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/otpreset/go/sms"
)

// errStillSending: the provider had not answered by the send floor; the SMS
// goes on in the background.
var errStillSending = errors.New("otpreset: SMS still sending")

type sendResult struct {
	receipt sms.Receipt
	err     error
}

// deliver calls the Sender with its own deadline, detached from the client's
// connection (a code already stored should reach the phone even if the client
// went away). With a send floor, it waits at most until the floor and then
// lets the SMS finish in the background.
func (f *flow) deliver(ctx context.Context, msg sms.Message, start time.Time, wait bool, log *slog.Logger) (sms.Receipt, error) {
	done := make(chan sendResult, 1)
	spanCtx, span := f.startSpan(ctx, "sms.Send", attribute.String("otpreset.sms_channel", string(msg.Channel)), attribute.Bool("otpreset.sms_voice", msg.Voice))
	go func() {
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(spanCtx), f.cfg.SendTimeout)
		defer cancel()
		r, err := f.cfg.Sender.Send(sendCtx, msg)
		endSpan(span, err)
		done <- sendResult{r, err}
	}()
	if wait || f.cfg.MinSendDuration < 0 {
		res := <-done
		return res.receipt, res.err
	}
	timer := time.NewTimer(time.Until(start.Add(f.cfg.MinSendDuration)))
	defer timer.Stop()
	select {
	case res := <-done:
		return res.receipt, res.err
	case <-timer.C:
		go func() {
			if res := <-done; res.err != nil {
				log.Error("SMS provider failed after the answer", "err", res.err)
			}
		}()
		return sms.Receipt{}, errStillSending
	}
}

// padUntil waits until deadline (the send floor), or until ctx ends.
func padUntil(ctx context.Context, deadline time.Time) {
	d := time.Until(deadline)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// notify tells the phone's owner, after a successful reset, that the
// password was changed (docs/contract.md, "Reset the password"; NIST SP 800-63B asks for
// it), worded by the tenant's notice template in the request's language. It
// never holds a code or a link that logs in (sms.RenderNotice refuses a
// template that could), goes by SMS whatever the code's channel, and never
// blocks or fails the reset: it is sent in the background, and a failure is
// logged and counted.
func (f *flow) notify(rs *resetting, changedAt time.Time) {
	t := rs.t
	if t.NoResetNotice || rs.user.Phone == "" {
		return
	}
	notice, err := t.SMSTemplates.RenderNotice(rs.param("resetpasswordsmstemplate"), rs.r.Header.Get("Accept-Language"),
		sms.NoticeData{AppName: t.AppName, Time: changedAt, Support: t.Support})
	if err != nil {
		rs.logger().Error("reset notice not worded", "err", err)
		f.cfg.Observer.SMS(t.ID, "notice_failed")
		return
	}
	f.countNotice(rs)
	msg := sms.Message{TenantID: t.ID, To: rs.user.Phone, Body: notice.Body, Channel: sms.ChannelSMS}
	log, reqCtx := rs.logger(), rs.ctx
	spanCtx, span := f.startSpan(reqCtx, "sms.SendNotice")
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(spanCtx), f.cfg.SendTimeout)
		defer cancel()
		_, err := f.cfg.Sender.Send(ctx, msg)
		endSpan(span, err)
		if err != nil {
			log.Error("reset notice not sent", "err", err)
			f.cfg.Observer.SMS(t.ID, "notice_failed")
			return
		}
		f.cfg.Observer.SMS(t.ID, "notice_sent")
	}()
}
