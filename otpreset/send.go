package otpreset

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
)

// serveSend answers POST: issue a code and text it.
func (h *Handler) serveSend(w http.ResponseWriter, r *http.Request) {
	t, q := h.begin(w, r)
	if t == nil {
		return
	}
	ctx := r.Context()
	start := time.Now()
	rawPhone := q.body["phone"]
	if rawPhone == "" {
		writeAPIError(w, errMissingPhone)
		return
	}
	phone, err := NormalizePhone(rawPhone)
	if err != nil {
		writeAPIError(w, errBadPhone)
		return
	}
	ip := h.cfg.ClientIP(r)
	log := h.log.With("tenant", t.ID, "phone", MaskPhone(phone), "endpoint", "send")
	lim := t.Limits

	if !h.limits(ctx, w, log, t.ID, "send", ip, phone, lim.SendPerIP, DefaultSendPerIP, lim.SendPerPhone, DefaultSendPerPhone,
		func(res LimitResult) *APIError { return errSendLimit(retryAfter(time.Now(), res.Reset)) }) {
		return
	}

	if apiErr := h.captchaGate(ctx, t, q, ip, phone, log); apiErr != nil {
		writeAPIError(w, apiErr)
		return
	}

	user, err := h.cfg.Store.UserByPhone(ctx, t.ID, phone)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.fault(w, log, "user lookup", err)
		return
	}
	if !known && t.RevealUnknownPhone {
		log.Info("refused", "reason", "unknown phone")
		writeAPIError(w, errUnknownPhone)
		return
	}

	// The same work for known and unknown phones (a code drawn, hashed,
	// stored and worded), so neither the answer nor its timing tells them
	// apart; only the SMS itself is skipped.
	now := h.cfg.Clock.Now()
	n := t.CodeLength
	if n < 4 || n > 10 {
		n = DefaultCodeLength
	}
	code, err := newCode(h.cfg.Rand, n)
	if err != nil {
		h.fault(w, log, "code", err)
		return
	}
	ttl := t.CodeTTL
	if ttl <= 0 {
		ttl = DefaultCodeTTL
	}
	maxAttempts := t.MaxCodeAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxCodeAttempts
	}
	err = h.cfg.Store.SaveChallenge(ctx, store.Challenge{
		TenantID: t.ID, Phone: phone, CodeHash: h.codes.sum(t.ID, phone, code),
		CreatedAt: now, ExpiresAt: now.Add(ttl), MaxAttempts: maxAttempts,
	})
	if err != nil {
		h.fault(w, log, "save code", err)
		return
	}
	body, found, err := t.SMSTemplates.Render(q.param("smstemplate"), sms.TemplateData{
		Code: code, Minutes: int((ttl + time.Minute - 1) / time.Minute), AppName: t.AppName, Domain: t.Domain,
	})
	if err != nil {
		h.fault(w, log, "render template", err)
		return
	}
	if !found {
		log.Warn("unknown SMS template, used the tenant default", "template", q.param("smstemplate"))
	}
	if n, enc := sms.Segments(body); n > 1 {
		log.Warn("SMS longer than one segment", "segments", n, "encoding", enc)
	}

	// SMS pumping: a refused number is answered like an unknown one.
	sendable := known
	if reason := pumpingRefusal(t.Pumping, phone); reason != "" && known {
		log.Warn("refused", "reason", "sms pumping: "+reason)
		h.cfg.Observer.SMS(t.ID, "refused")
		sendable = false
	}
	if sendable {
		capRate := t.Pumping.PrefixDailyCap
		res, err := h.cfg.Limiter.take(ctx, "sms:prefix:"+t.ID+":"+phonePrefix(t.Pumping, phone), capRate, DefaultPrefixDailyCap)
		if err != nil {
			h.fault(w, log, "rate limit", err)
			return
		}
		if res.Reached {
			log.Warn("refused", "reason", "sms pumping: prefix daily cap")
			h.cfg.Observer.SMS(t.ID, "refused")
			sendable = false
		}
	}

	voice := boolParam(q.param("isvoiceotp"))
	var receipt sms.Receipt
	if sendable {
		res, err := h.cfg.Limiter.take(ctx, "sms:tenant:"+t.ID, lim.SMSPerTenantDay, DefaultSMSPerTenantDay)
		if err != nil {
			h.fault(w, log, "rate limit", err)
			return
		}
		if res.Reached {
			log.Error("refused", "reason", "tenant daily SMS cap")
			writeAPIError(w, errSendLimit(retryAfter(time.Now(), res.Reset)))
			return
		}
		msg := sms.Message{TenantID: t.ID, To: user.Phone, Body: body, Code: code, Voice: voice}
		receipt, err = h.deliver(ctx, msg, start, t.ReportSendFailure, log)
		switch {
		case errors.Is(err, errStillSending):
			receipt = sms.Receipt{}
			h.cfg.Observer.SMS(t.ID, "pending")
			log.Info("code sending, answered before the provider")
		case err != nil:
			log.Error("SMS provider failed", "err", err)
			h.cfg.Observer.SMS(t.ID, "failed")
			if t.ReportSendFailure {
				writeAPIError(w, errSendFailed)
				return
			}
			receipt = sms.Receipt{}
		default:
			if receipt.AccountSid != "" {
				h.accountSids.Store(t.ID, receipt.AccountSid)
			}
			h.cfg.Observer.SMS(t.ID, "sent")
			log.Info("code sent")
		}
	} else if !known {
		h.cfg.Observer.SMS(t.ID, "unknown_phone")
		log.Info("code not sent", "reason", "unknown phone")
	}
	if !t.ReportSendFailure {
		h.padSend(ctx, start)
	}
	if receipt.Sid == "" { // unknown phone, or the provider failed
		msg := sms.Message{TenantID: t.ID, To: phone, Voice: voice}
		if im, ok := h.cfg.Sender.(sms.Imitator); ok {
			receipt = im.Imitate(msg)
		} else {
			receipt = sms.Receipt{Sid: sms.NewSid(sms.SidPrefix(msg.Voice), h.cfg.Rand)}
		}
	}
	if receipt.AccountSid == "" {
		receipt.AccountSid = h.accountSid(t)
	}
	writeJSON(w, SendResponse{IsPosted: true, Data: SendData{AccountSid: receipt.AccountSid, Sid: receipt.Sid}})
}

// accountSid is the AccountSid shown when no SMS was sent: the tenant's
// configured one, else the last one its provider returned, else a stable id
// derived from the secret, so every answer of a tenant shows the same one.
func (h *Handler) accountSid(t *Tenant) string {
	if t.AccountSid != "" {
		return t.AccountSid
	}
	if v, ok := h.accountSids.Load(t.ID); ok {
		return v.(string)
	}
	m := hmac.New(sha256.New, h.cfg.Secret)
	m.Write([]byte("account-sid\x00" + t.ID))
	return "AC" + hex.EncodeToString(m.Sum(nil)[:16])
}

// fault logs a server-side failure and answers 950.
func (h *Handler) fault(w http.ResponseWriter, log *slog.Logger, what string, err error) {
	if errors.Is(err, context.Canceled) {
		// The client went away; nothing useful can be written.
		log.Error("request cancelled", "step", what)
	} else {
		log.Error("server fault", "step", what, "err", err)
	}
	writeAPIError(w, errInternal)
}

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
func (h *Handler) deliver(ctx context.Context, msg sms.Message, start time.Time, wait bool, log *slog.Logger) (sms.Receipt, error) {
	done := make(chan sendResult, 1)
	go func() {
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.SendTimeout)
		defer cancel()
		r, err := h.cfg.Sender.Send(sendCtx, msg)
		done <- sendResult{r, err}
	}()
	if wait || h.cfg.MinSendDuration < 0 {
		res := <-done
		return res.receipt, res.err
	}
	timer := time.NewTimer(time.Until(start.Add(h.cfg.MinSendDuration)))
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

// padSend waits until MinSendDuration has passed since start.
func (h *Handler) padSend(ctx context.Context, start time.Time) {
	if h.cfg.MinSendDuration <= 0 {
		return
	}
	d := time.Until(start.Add(h.cfg.MinSendDuration))
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
