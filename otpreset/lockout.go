package otpreset

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ulule/limiter/v3"
	"go.opentelemetry.io/otel/attribute"

	"github.com/otpreset/go/store"
)

// The lockout and the guessing budget (README "Security model"). A reset's
// code is compared in one store step (store.Challenges.CheckCode) that first
// asks two counters:
//
//   - the client network's lockout for the phone: every LockoutAttempts
//     wrong codes from one network lock that network out, for LockoutWindow
//     and twice as long each time after, up to MaxLockout. What one network
//     does never locks the owner out on another;
//   - the phone's guessing budget, every network together: at most
//     GuessBudget wrong codes per period after a burst of GuessBurst. It
//     bounds every attacker together; one network alone never spends it.
//
// A refused attempt is compared and counted by nothing. A locked network
// gets 1198 (LockoutSuspend) or, in LockoutCaptcha, goes on with a freshly
// solved captcha (1132 until one comes). A spent budget goes on with a
// freshly solved captcha wherever the tenant has a verifier (the owner
// solves one and gets through); without one it refuses (1198) until the
// budget allows again. The right code is counted by nothing, also when it
// loses the race to a concurrent success.

// attemptCode compares r's code under the lockout and the budget, asking for
// a captcha where one lets the request through. nil means the code is right
// and usable (not yet consumed).
func (f *flow) attemptCode(rs *resetting) error {
	t := rs.t
	a := store.Attempt{
		Check:   store.CodeCheck{TenantID: t.ID, Phone: rs.phone, CodeHash: f.codes.sum(rs.codeHash[:0], t.ID, rs.phone, rs.otp), Now: f.cfg.Clock.Now()},
		Network: rs.network, Policy: t.guesses,
	}
	for {
		a.PassLockout, a.PassBudget = rs.solved && t.lockoutCaptcha, rs.solved
		v, err := f.checkCode(rs, a)
		if err != nil {
			return faultAt("check code", err)
		}
		if v.StartedLockout {
			f.cfg.Observer.Lockout(t.ID)
		}
		why, mayAsk := "", false
		switch v.Refused {
		case store.NotRefused:
			rs.check = a.Check
			if v.Code == nil {
				return nil
			}
			return f.failedCode(&rs.exchange, f.detailedCause(rs, v.Code))
		case store.RefusedLockout:
			why, mayAsk = "network locked out of the phone", t.lockoutCaptcha
		case store.RefusedBudget:
			why, mayAsk = "guessing budget spent", t.Captcha.Verifier != nil
		}
		if rs.solved || !mayAsk {
			return refuse(errLocked(v.Until.UTC().Format(time.RFC3339), retryAfter(a.Check.Now, v.Until)), why)
		}
		if e := f.captchaFor(&rs.exchange, why); e != nil {
			return e
		}
		rs.solved = true
	}
}

// detailedCause tells, for LoginRadius's catalogue (DetailedErrors), an
// unknown phone (938) from a known one without a code (1070): one more
// store call, made only by tenants that chose to reveal which phones exist.
func (f *flow) detailedCause(rs *resetting, verdict error) error {
	if !rs.t.DetailedErrors || !errors.Is(verdict, store.ErrNoChallenge) {
		return verdict
	}
	if _, err := f.cfg.Store.UserByPhone(rs.ctx, rs.t.ID, rs.phone); errors.Is(err, store.ErrNotFound) {
		return err
	}
	return verdict
}

func (f *flow) checkCode(rs *resetting, a store.Attempt) (store.Verdict, error) {
	ctx, span := f.startSpan(rs.ctx, "store.CheckCode")
	v, err := f.cfg.Store.CheckCode(ctx, a)
	if span.IsRecording() { // else the attributes would be built (and escape) for nothing
		span.SetAttributes(attribute.Int("otpreset.refused", int(v.Refused)), attribute.Bool("otpreset.counted", v.Counted),
			attribute.Bool("otpreset.lockout_started", v.StartedLockout))
	}
	endSpan(span, err)
	return v, err
}

// forgetRate is the rate a counter is forgotten under: the limiter store
// needs one to name the key, whatever the tenant's rate is.
var forgetRate = rate{Rate: limiter.Rate{Period: 24 * time.Hour, Limit: 1}}

// Unlock forgets every counter of a phone: each network's lockout and send
// count, the guessing budget and the phone's daily SMS count, as a
// successful reset does. It is for an operator who has confirmed the owner
// (README "Security model"); phone is normalised as the endpoints do.
func (h *Handler) Unlock(ctx context.Context, tenantID, phone string) error {
	e164, err := NormalizePhone(phone)
	if err != nil {
		return err
	}
	if err := h.cfg.Store.ClearCounters(ctx, tenantID, e164); err != nil {
		return fmt.Errorf("otpreset: unlock: %w", err)
	}
	if err := h.counters.forget(ctx, phoneDayKey(tenantID, e164), forgetRate); err != nil {
		return fmt.Errorf("otpreset: unlock: the phone's daily SMS count: %w", err)
	}
	h.log.Info("counters of a phone cleared by an operator", "tenant", tenantID, "phone", maskPhone(e164))
	return nil
}
