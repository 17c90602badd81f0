package otpreset

import (
	"bytes"
	"errors"
	"time"

	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
)

// sendResponse is the 200 answer of POST /identity/v2/auth/password/otp.
type sendResponse struct {
	IsPosted bool     `json:"IsPosted"`
	Data     sendData `json:"Data"`
}

// sendData is exactly AccountSid and Sid (the v12 SDK rejects unknown fields).
type sendData struct {
	AccountSid string `json:"AccountSid"`
	Sid        string `json:"Sid"`
}

// send answers POST: read the phone, limit the client's address, gate
// (captcha), look at the SMS caps, issue the code (the phone's send limit per
// network, its user, the code saved or the live one kept: one store step),
// text it to a known phone, and answer the same whatever happened to the SMS.
func (f *flow) send(sd *sending) (any, error) {
	x := &sd.exchange
	sd.start, sd.voice = time.Now(), boolParam(x.param("isvoiceotp"))
	if e := f.readPhone(x, x.t.sendLog); e != nil {
		return nil, e
	}
	if e := f.limitIP(x, "send", x.t.sendPerIP); e != nil {
		return nil, e
	}
	solved, e := f.gate(x)
	if e != nil {
		return nil, e
	}
	sd.solved = solved
	if e := f.lookAtCaps(sd); e != nil {
		return nil, e
	}
	if e := f.issueAndText(sd); e != nil {
		return nil, e
	}
	if !x.t.ReportSendFailure {
		padUntil(x.ctx, sd.start.Add(f.cfg.MinSendDuration))
	}
	// One form of Sid for every answer, whichever sender served it, or
	// none: the provider'sd own id goes to the log and the trace only.
	return sendResponse{IsPosted: true, Data: sendData{AccountSid: x.t.AccountSid, Sid: sms.NewSid(sms.SidPrefix(sd.voice), f.cfg.Rand)}}, nil
}

// issueAndText issues the code and texts it, unless a cap or the pumping
// guard keeps every SMS from the phone: then the store is not asked and the
// answer is the one an unknown phone gets.
func (f *flow) issueAndText(sd *sending) error {
	if reason := sd.caps.quiet; reason != "" {
		level := sd.logger().Warn
		if reason == refusedTenantCap {
			level = sd.logger().Error // it stops every SMS of the tenant
		}
		level("code not sent", "reason", reason)
		f.cfg.Observer.SMS(sd.t.ID, sd.caps.outcome)
		return nil
	}
	if e := f.issueCode(sd); e != nil {
		return e
	}
	if e := f.countPhoneDay(sd); e != nil {
		return e
	}
	return f.textCode(sd)
}

// issueCode asks the store, in one step, to count the send against the
// phone's limit for the client's network, find the phone's user and save a
// new code, or keep the phone's live one (anyone's send never spoils the
// owner's code). The code in effect is derived from its nonce, so a kept
// code is sent again as it was. Known and unknown phones do the same work
// and are counted alike; only a known phone's code is stored.
func (f *flow) issueCode(sd *sending) error {
	t, now := sd.t, f.cfg.Clock.Now()
	nonce, err := newNonce(f.cfg.Rand)
	if err != nil {
		return faultAt("code", err)
	}
	code := f.codes.derive(t.ID, sd.phone, nonce, t.CodeLength)
	iss := store.Issue{
		Challenge: store.Challenge{TenantID: t.ID, Phone: sd.phone, Nonce: nonce, CodeHash: f.codes.sum(nil, t.ID, sd.phone, code),
			CreatedAt: now, ExpiresAt: now.Add(t.CodeTTL), MaxAttempts: t.MaxCodeAttempts},
		Network: sd.network, SendLimit: t.sendLimit,
	}
	ctx, span := f.startSpan(sd.ctx, "store.IssueCode")
	sd.issued, err = store.IssueCode(ctx, f.cfg.Store, iss)
	endSpan(span, err)
	if err != nil {
		return faultAt("issue code", err)
	}
	sd.rate = sendLimitResult(t.sendLimit, sd.issued)
	switch {
	case sd.issued.Limited:
		return refuse(errSendLimit(retryAfter(now, sd.issued.LimitResets)), "sends per phone and network")
	case !sd.issued.Found && t.RevealUnknownPhone:
		return refuse(errUnknownPhone, "unknown phone")
	case !sd.issued.Found:
		return nil
	}
	sd.code = code
	if kept := sd.issued.Challenge.Nonce; !bytes.Equal(kept, nonce) { // the phone's live code, sent again
		sd.code = f.codes.derive(t.ID, sd.phone, kept, t.CodeLength)
	}
	name := sd.param("smstemplate")
	sd.text, err = t.SMSTemplates.RenderCode(name, sd.r.Header.Get("Accept-Language"), sms.TemplateData{
		Code: sd.code, Minutes: int((sd.issued.Challenge.ExpiresAt.Sub(now) + time.Minute - 1) / time.Minute), AppName: t.AppName, Domain: t.Domain,
	})
	if err != nil {
		return faultAt("render template", err)
	}
	if !sd.text.Found {
		sd.logger().Warn("unknown SMS template, used the tenant default", "template", name)
	}
	if sd.text.MultiSegment() {
		sd.logger().Warn("SMS longer than one segment", "segments", sd.text.Segments, "encoding", sd.text.Encoding)
	}
	return nil
}

// sendLimitResult reports the send limit for the X-RateLimit-* headers.
func sendLimitResult(l store.SendLimit, iss store.Issued) limitResult {
	if l.Limit <= 0 {
		return limitResult{}
	}
	return limitResult{limit: int64(l.Limit), remaining: int64(iss.SendsLeft), reset: iss.LimitResets, reached: iss.Limited}
}

// textCode sends the code to a known phone that the caps allow, after
// counting it toward them. A refused or failed SMS still answers 200 (unless
// the tenant reports send failures): the answer must not tell.
func (f *flow) textCode(sd *sending) error {
	t := sd.t
	if !sd.issued.Found {
		f.smsOutcome(&sd.exchange, "unknown_phone", "code not sent: unknown phone")
		return nil
	}
	if reason := f.countCaps(sd); reason != "" {
		f.smsOutcome(&sd.exchange, "capped", "code not sent: "+reason)
		return nil
	}
	msg := sms.Message{TenantID: t.ID, To: sd.issued.User.Phone, Body: sd.text.Body, Code: sd.code, Voice: sd.voice, Channel: t.Channel}
	receipt, err := f.deliver(sd.ctx, msg, sd.start, t.ReportSendFailure, sd.logger())
	switch {
	case errors.Is(err, errStillSending):
		f.smsOutcome(&sd.exchange, "pending", "code sending, answered before the provider")
	case err != nil:
		sd.logger().Error("SMS provider failed", "err", err)
		f.smsOutcome(&sd.exchange, "failed", "")
		if t.ReportSendFailure {
			return errSendFailed
		}
	default:
		sd.logger().Info("code sent", "provider_sid", receipt.Sid)
		f.smsOutcome(&sd.exchange, "sent", "")
	}
	return nil
}

// smsOutcome is the one place a send's SMS outcome is counted (Observer)
// and, with a note, logged.
func (f *flow) smsOutcome(x *exchange, outcome, note string) {
	f.cfg.Observer.SMS(x.t.ID, outcome)
	if note != "" {
		x.logger().Info(note)
	}
}
