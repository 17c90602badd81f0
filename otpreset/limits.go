package otpreset

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/otpreset/go/store"
)

// limitIPAndPhone counts one request of endpoint against the client IP's
// rate and then the phone's, cheapest refusal first. It returns the IP's
// refusal (429) or the phone's (phoneLimited's answer), or nil.
func (f *flow) limitIPAndPhone(x *exchange, endpoint string, ipRate, phoneRate rate, phoneLimited func(limitResult) *apiError) error {
	res, err := f.counters.take(x.ctx, endpoint+":ip:"+x.t.id+":"+clientKey(x.ip, f.cfg.IPv6PrefixBits), ipRate)
	if err != nil {
		return faultAt("rate limit", err)
	}
	x.rate = res
	if res.reached {
		x.log.Warn("refused", "reason", endpoint+" rate per IP")
		return errTooManyRequests(retryAfter(time.Now(), res.reset))
	}
	res, err = f.counters.take(x.ctx, endpoint+":phone:"+x.t.id+":"+x.phone, phoneRate)
	if err != nil {
		return faultAt("rate limit", err)
	}
	if res.reached {
		x.rate = res
		x.log.Warn("refused", "reason", endpoint+" rate per phone")
		return phoneLimited(res)
	}
	return nil
}

func retryAfter(now, reset time.Time) int {
	s := int(reset.Sub(now).Seconds() + 0.999)
	if s < 1 {
		s = 1
	}
	return s
}

// guessKey names the phone's guessing budget.
func guessKey(x *exchange) store.GuessKey { return store.GuessKey{TenantID: x.t.id, Phone: x.phone} }

// peekLock reports whether the phone is locked now, and until when.
func (f *flow) peekLock(x *exchange) (bool, time.Time, error) {
	ctx, span := f.startSpan(x.ctx, "store.PeekGuesses")
	g, err := f.guesses.PeekGuesses(ctx, guessKey(x), f.cfg.Clock.Now())
	endSpan(span, err)
	if err != nil {
		return false, time.Time{}, faultAt("lockout", err)
	}
	return !g.LockedUntil.IsZero(), g.LockedUntil, nil
}

// takeGuess counts the comparison about to be made against the phone's
// guessing budget, in the same atomic step that decides whether the phone is
// locked, so that concurrent requests never compare more codes than the
// budget allows. A locked phone is refused (1198), or in the captcha lockout
// type let through by a freshly solved captcha (1132 without one).
func (f *flow) takeGuess(r *resetting) error {
	now := f.cfg.Clock.Now()
	g, err := f.takeGuessTraced(r, now, false)
	if err != nil {
		return faultAt("lockout", err)
	}
	if !g.Allowed && r.t.lockout.captcha {
		if e := f.lockedCaptcha(&r.exchange, r.captchaSolved); e != nil {
			return e
		}
		g, err = f.takeGuessTraced(r, now, true)
		if err != nil {
			return faultAt("lockout", err)
		}
	}
	if !g.Allowed {
		r.log.Warn("refused", "reason", "locked")
		return errLocked(g.LockedUntil.UTC().Format(time.RFC3339), retryAfter(now, g.LockedUntil))
	}
	if g.StartedLockout {
		f.cfg.Observer.Lockout(r.t.id)
	}
	r.guess = &g
	return nil
}

func (f *flow) takeGuessTraced(r *resetting, now time.Time, pastLock bool) (store.Guess, error) {
	ctx, span := f.startSpan(r.ctx, "store.TakeGuess")
	g, err := f.guesses.TakeGuess(ctx, guessKey(&r.exchange), now, r.t.lockout.GuessPolicy, pastLock)
	span.SetAttributes(attribute.Bool("otpreset.guess_allowed", g.Allowed), attribute.Bool("otpreset.lockout_started", g.StartedLockout))
	endSpan(span, err)
	return g, err
}

// returnGuess gives back the guess taken for a comparison that was not a
// guess: the right code (even one that lost the race to a concurrent
// success), or a fault.
func (f *flow) returnGuess(r *resetting) {
	if r.guess == nil {
		return
	}
	took := *r.guess
	r.guess = nil
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), f.cfg.ApplyTimeout)
	defer cancel()
	ctx, span := f.startSpan(ctx, "store.ReturnGuess")
	err := f.guesses.ReturnGuess(ctx, guessKey(&r.exchange), took)
	endSpan(span, err)
	if err != nil {
		r.log.Error("returning a guess", "err", err)
	}
}

// capsReached tells, before any store work, whether the tenant's daily SMS
// cap or the phone's number-prefix cap would refuse an SMS to the phone.
// The prefix cap counts distinct phones a day, so a few accounts cannot
// exhaust it for everyone else in their range: a phone already counted today
// is never refused by it.
func (f *flow) capsReached(s *sending) (string, error) {
	t := s.t
	res, err := f.counters.peek(s.ctx, tenantCapKey(t), t.smsPerTenantDay)
	if err != nil {
		return "", faultAt("rate limit", err)
	}
	if res.reached {
		return refusedTenantCap, nil
	}
	seen, err := f.counters.peek(s.ctx, prefixPhoneKey(t, s.phone), t.prefixMarker)
	if err != nil {
		return "", faultAt("rate limit", err)
	}
	if seen.limit > 0 && seen.reached { // counted already today
		return "", nil
	}
	res, err = f.counters.peek(s.ctx, prefixCapKey(t, s.phone), t.prefixCap)
	if err != nil {
		return "", faultAt("rate limit", err)
	}
	if res.reached {
		return "sms pumping: prefix daily cap", nil
	}
	return "", nil
}

// countCaps counts an SMS about to go to a known phone against the caps
// capsReached looked at; false means a concurrent request reached one first.
func (f *flow) countCaps(s *sending) (bool, error) {
	t := s.t
	res, err := f.counters.take(s.ctx, tenantCapKey(t), t.smsPerTenantDay)
	if err != nil || res.reached {
		return false, err
	}
	marker, markerRate := prefixPhoneKey(t, s.phone), t.prefixMarker
	first, err := f.counters.take(s.ctx, marker, markerRate)
	if err != nil || first.reached || first.limit == 0 { // counted already today, or no cap
		return err == nil, err
	}
	res, err = f.counters.take(s.ctx, prefixCapKey(t, s.phone), t.prefixCap)
	if err != nil {
		return false, err
	}
	if res.reached { // not one of today's phones after all
		return false, f.counters.forget(s.ctx, marker, markerRate)
	}
	return true, nil
}

func tenantCapKey(t *settings) string { return "sms:tenant:" + t.id }

func prefixCapKey(t *settings, phone string) string {
	return "sms:prefix:" + t.id + ":" + phonePrefix(t.prefixDigits, phone)
}

// prefixPhoneKey marks a phone as counted in its prefix's cap for the cap's
// period.
func prefixPhoneKey(t *settings, phone string) string { return "sms:prefixphone:" + t.id + ":" + phone }

// refusedTenantCap is capsReached's reason for the tenant's daily cap, the
// one refusal logged at error level: it stops every SMS of the tenant.
const refusedTenantCap = "tenant daily SMS cap"
