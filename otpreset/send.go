package otpreset

import (
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

// sending is a send request on its way: what the later steps share.
type sending struct {
	exchange
	start time.Time
	user  store.User
	known bool
	code  string
	text  string // the worded SMS
	voice bool
}

// send answers POST: read the phone, limit, gate, find the user, issue a
// code, text it when allowed, answer the same whatever happened to the SMS.
func (f *flow) send(s *sending) (any, error) {
	x := &s.exchange
	s.start, s.voice = time.Now(), boolParam(x.param("isvoiceotp"))
	if e := f.readPhone(x, x.t.sendLog); e != nil {
		return nil, e
	}
	if e := f.limitIPAndPhone(x, "send", x.t.sendPerIP, x.t.sendPerPhone, sendLimited); e != nil {
		return nil, e
	}
	if e := f.gate(x); e != nil {
		return nil, e
	}
	if e := f.findUser(s); e != nil {
		return nil, e
	}
	if e := f.issueCode(s); e != nil {
		return nil, e
	}
	receipt, e := f.textCode(s)
	if e != nil {
		return nil, e
	}
	if !x.t.reportSendFailure {
		padUntil(x.ctx, s.start.Add(f.cfg.MinSendDuration))
	}
	if receipt.Sid == "" { // no SMS went out, or it is still on its way
		receipt = f.imitateReceipt(s)
	}
	return sendResponse{IsPosted: true, Data: sendData{AccountSid: x.t.accountSid, Sid: receipt.Sid}}, nil
}

func sendLimited(res limitResult) *apiError { return errSendLimit(retryAfter(time.Now(), res.reset)) }

// findUser looks the phone up; an unknown phone goes on like a known one
// unless the tenant reveals it (1043).
func (f *flow) findUser(s *sending) error {
	user, err := f.cfg.Store.UserByPhone(s.ctx, s.t.id, s.phone)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return faultAt("user lookup", err)
	}
	s.user, s.known = user, err == nil
	if !s.known && s.t.revealUnknownPhone {
		s.log.Info("refused", "reason", "unknown phone")
		return errUnknownPhone
	}
	return nil
}

// issueCode draws, stores and words a code. It does the same work for known
// and unknown phones, so neither the answer nor its timing tells them apart;
// only the SMS itself is skipped.
func (f *flow) issueCode(s *sending) error {
	t, now := s.t, f.cfg.Clock.Now()
	code, err := newCode(f.cfg.Rand, t.codeLength)
	if err != nil {
		return faultAt("code", err)
	}
	err = f.cfg.Store.SaveChallenge(s.ctx, store.Challenge{
		TenantID: t.id, Phone: s.phone, CodeHash: f.codes.sum(t.id, s.phone, code),
		CreatedAt: now, ExpiresAt: now.Add(t.codeTTL), MaxAttempts: t.maxCodeAttempts,
	})
	if err != nil {
		return faultAt("save code", err)
	}
	name := s.param("smstemplate")
	text, found, err := t.templates.Render(name, sms.TemplateData{
		Code: code, Minutes: int((t.codeTTL + time.Minute - 1) / time.Minute), AppName: t.appName, Domain: t.domain,
	})
	if err != nil {
		return faultAt("render template", err)
	}
	if !found {
		s.log.Warn("unknown SMS template, used the tenant default", "template", name)
	}
	if n, enc := sms.Segments(text); n > 1 {
		s.log.Warn("SMS longer than one segment", "segments", n, "encoding", enc)
	}
	s.code, s.text = code, text
	return nil
}

// textCode sends the code to a known phone that passes the pumping guard and
// the caps. It returns the provider's receipt, or an empty one when no SMS
// went out (or it is still on its way).
func (f *flow) textCode(s *sending) (sms.Receipt, error) {
	t := s.t
	if !s.known {
		f.cfg.Observer.SMS(t.id, "unknown_phone")
		s.log.Info("code not sent", "reason", "unknown phone")
		return sms.Receipt{}, nil
	}
	if ok, e := f.maySend(s); !ok || e != nil {
		return sms.Receipt{}, e
	}
	msg := sms.Message{TenantID: t.id, To: s.user.Phone, Body: s.text, Code: s.code, Voice: s.voice}
	receipt, err := f.deliver(s.ctx, msg, s.start, t.reportSendFailure, s.log)
	switch {
	case errors.Is(err, errStillSending):
		f.cfg.Observer.SMS(t.id, "pending")
		s.log.Info("code sending, answered before the provider")
		return sms.Receipt{}, nil
	case err != nil:
		s.log.Error("SMS provider failed", "err", err)
		f.cfg.Observer.SMS(t.id, "failed")
		if t.reportSendFailure {
			return sms.Receipt{}, errSendFailed
		}
		return sms.Receipt{}, nil
	}
	f.cfg.Observer.SMS(t.id, "sent")
	s.log.Info("code sent")
	return receipt, nil
}

// maySend applies the SMS-pumping guard and the per-prefix and per-tenant
// caps. A number the guard refuses is answered like an unknown one.
func (f *flow) maySend(s *sending) (bool, error) {
	t := s.t
	if reason := pumpingRefusal(t, s.phone); reason != "" {
		s.log.Warn("refused", "reason", "sms pumping: "+reason)
		f.cfg.Observer.SMS(t.id, "refused")
		return false, nil
	}
	res, err := f.counters.take(s.ctx, "sms:prefix:"+t.id+":"+phonePrefix(t.prefixDigits, s.phone), t.prefixCap)
	if err != nil {
		return false, faultAt("rate limit", err)
	}
	if res.reached {
		s.log.Warn("refused", "reason", "sms pumping: prefix daily cap")
		f.cfg.Observer.SMS(t.id, "refused")
		return false, nil
	}
	res, err = f.counters.take(s.ctx, "sms:tenant:"+t.id, t.smsPerTenantDay)
	if err != nil {
		return false, faultAt("rate limit", err)
	}
	if res.reached {
		s.log.Error("refused", "reason", "tenant daily SMS cap")
		return false, errSendLimit(retryAfter(time.Now(), res.reset))
	}
	return true, nil
}

// imitateReceipt is the receipt of an answer for which no SMS went out: a
// Sid of the form the sender's would have.
func (f *flow) imitateReceipt(s *sending) sms.Receipt {
	msg := sms.Message{TenantID: s.t.id, To: s.phone, Voice: s.voice}
	if im, ok := f.cfg.Sender.(sms.Imitator); ok {
		return im.Imitate(msg)
	}
	return sms.Receipt{Sid: sms.NewSid(sms.SidPrefix(msg.Voice), f.cfg.Rand)}
}
