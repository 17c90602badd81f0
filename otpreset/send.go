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
	start   time.Time
	user    store.User
	known   bool
	refused string // why no SMS may go to this phone (pumping, caps), or ""
	code    string
	text    sms.Rendered // the worded SMS
	voice   bool
}

// send answers POST: read the phone, limit, gate, apply the pumping guard
// and the caps, issue a code, text it to a known phone, and answer the same
// whatever happened to the SMS.
func (f *flow) send(s *sending) (any, error) {
	x := &s.exchange
	s.start, s.voice = time.Now(), boolParam(x.param("isvoiceotp"))
	if e := f.readPhone(x, x.t.sendLog); e != nil {
		return nil, e
	}
	if e := f.limitIPAndPhone(x, "send", x.t.sendPerIP, x.t.sendPerPhone, sendLimited); e != nil {
		return nil, e
	}
	if _, e := f.gate(x, true); e != nil {
		return nil, e
	}
	if e := f.mayText(s); e != nil {
		return nil, e
	}
	if s.refused == "" {
		if e := f.issueCode(s); e != nil {
			return nil, e
		}
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

// mayText applies, before any store work, the SMS-pumping guard and the
// caps. A refused phone is answered exactly like an unknown one (200, the
// same shape), stores no code and keeps its earlier one; the refusal is
// logged and counted for metrics.
func (f *flow) mayText(s *sending) error {
	reason := pumpingRefusal(s.t, s.phone)
	if reason != "" {
		reason = "sms pumping: " + reason
	} else {
		var err error
		if reason, err = f.capsReached(s); err != nil {
			return err
		}
	}
	switch {
	case reason == "":
		return nil
	case reason == refusedTenantCap:
		s.log.Error("refused", "reason", reason)
		f.cfg.Observer.SMS(s.t.id, "capped")
	default:
		s.log.Warn("refused", "reason", reason)
		f.cfg.Observer.SMS(s.t.id, "refused")
	}
	s.refused = reason
	return nil
}

// issueCode draws a code, stores it and looks the phone up (one round trip
// where the store offers it), then words it. It does the same work for known
// and unknown phones; only the SMS itself is skipped. An unknown phone is
// refused (1043) only when the tenant reveals it.
func (f *flow) issueCode(s *sending) error {
	t, now := s.t, f.cfg.Clock.Now()
	code, err := newCode(f.cfg.Rand, t.codeLength)
	if err != nil {
		return faultAt("code", err)
	}
	c := store.Challenge{
		TenantID: t.id, Phone: s.phone, CodeHash: f.codes.sum(t.id, s.phone, code),
		CreatedAt: now, ExpiresAt: now.Add(t.codeTTL), MaxAttempts: t.maxCodeAttempts,
	}
	user, err := f.saveChallengeFindUser(s, c)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return faultAt("save code", err)
	}
	s.user, s.known, s.code = user, err == nil, code
	if !s.known && t.revealUnknownPhone {
		s.log.Info("refused", "reason", "unknown phone")
		return errUnknownPhone
	}
	name := s.param("smstemplate")
	s.text, err = t.templates.RenderCode(name, s.r.Header.Get("Accept-Language"), sms.TemplateData{
		Code: code, Minutes: int((t.codeTTL + time.Minute - 1) / time.Minute), AppName: t.appName, Domain: t.domain,
	})
	if err != nil {
		return faultAt("render template", err)
	}
	if !s.text.Found {
		s.log.Warn("unknown SMS template, used the tenant default", "template", name)
	}
	if s.text.MultiSegment() {
		s.log.Warn("SMS longer than one segment", "segments", s.text.Segments, "encoding", s.text.Encoding)
	}
	return nil
}

// saveChallengeFindUser saves c and finds its phone's user: one call where
// the store offers it (store.UserChallengeSaver).
func (f *flow) saveChallengeFindUser(s *sending, c store.Challenge) (user store.User, err error) {
	ctx, span := f.startSpan(s.ctx, "store.SaveChallengeFindUser")
	defer func() { endSpan(span, faultOnly(err)) }()
	if saver, ok := f.cfg.Store.(store.UserChallengeSaver); ok {
		return saver.SaveChallengeFindUser(ctx, c)
	}
	user, err = f.cfg.Store.UserByPhone(ctx, c.TenantID, c.Phone)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	if serr := f.cfg.Store.SaveChallenge(ctx, c); serr != nil {
		return store.User{}, serr
	}
	return user, err
}

// faultOnly is err unless it is an answer a store gives in the normal course
// (no user, a wrong code): those are not faults on a span.
func faultOnly(err error) error {
	if err == nil || isCodeError(err) {
		return nil
	}
	return err
}

// textCode sends the code to a known phone the guard and the caps allow. It
// returns the provider's receipt, or an empty one when no SMS went out (or
// it is still on its way).
func (f *flow) textCode(s *sending) (sms.Receipt, error) {
	t := s.t
	switch {
	case s.refused != "":
		return sms.Receipt{}, nil
	case !s.known:
		f.cfg.Observer.SMS(t.id, "unknown_phone")
		s.log.Info("code not sent", "reason", "unknown phone")
		return sms.Receipt{}, nil
	}
	ok, err := f.countCaps(s)
	if err != nil {
		return sms.Receipt{}, faultAt("rate limit", err)
	}
	if !ok {
		s.log.Warn("code not sent", "reason", "a cap was reached meanwhile")
		f.cfg.Observer.SMS(t.id, "capped")
		return sms.Receipt{}, nil
	}
	msg := sms.Message{TenantID: t.id, To: s.user.Phone, Body: s.text.Body, Code: s.code, Voice: s.voice, Channel: t.channel}
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

// imitateReceipt is the receipt of an answer for which no SMS went out: a
// Sid of the form the sender's would have.
func (f *flow) imitateReceipt(s *sending) sms.Receipt {
	msg := sms.Message{TenantID: s.t.id, To: s.phone, Voice: s.voice}
	if im, ok := f.cfg.Sender.(sms.Imitator); ok {
		return im.Imitate(msg)
	}
	return sms.Receipt{Sid: sms.NewSid(sms.SidPrefix(msg.Voice), f.cfg.Rand)}
}
