package otpreset

import (
	"errors"
	"fmt"
	"time"

	"github.com/otpreset/go/captcha"
)

// gate applies the phone's lockout and the tenant's captcha policy before
// anything touches a code: it returns the refusal, or nil to go on.
func (f *flow) gate(x *exchange) error {
	locked, until, err := f.counters.locked(x.ctx, lockoutKey(x.t.id, x.phone), x.t.lockout)
	if err != nil {
		return faultAt("lockout", err)
	}
	switch {
	case locked && !x.t.lockout.captcha:
		x.log.Warn("refused", "reason", "locked")
		return errLocked(until.UTC().Format(time.RFC3339), retryAfter(time.Now(), until))
	case locked:
		// Captcha lockout: a valid captcha lets the request through.
		if err := f.checkCaptcha(x); err != nil {
			x.log.Warn("refused", "reason", "locked, captcha required", "captcha", captchaReason(err))
			f.cfg.Observer.CaptchaFailed(x.t.id, captchaReason(err))
			if errors.Is(err, captcha.ErrMissing) {
				return errCaptchaRequired
			}
			return errCaptcha
		}
	case x.t.captchaMode == CaptchaAlways:
		if err := f.checkCaptcha(x); err != nil {
			x.log.Warn("refused", "reason", "captcha", "captcha", captchaReason(err))
			f.cfg.Observer.CaptchaFailed(x.t.id, captchaReason(err))
			return errCaptcha
		}
	}
	return nil
}

// checkCaptcha verifies the request's captcha with the tenant's verifier.
// New refuses a tenant that needs a verifier and has none; a missing one
// still fails closed.
func (f *flow) checkCaptcha(x *exchange) error {
	if x.t.verifier == nil {
		return fmt.Errorf("otpreset: tenant %s asks for a captcha but has no verifier: %w", x.t.id, captcha.ErrUnavailable)
	}
	tok := captcha.TokenFrom(x.param, x.ip)
	if tok.Response == "" {
		return captcha.ErrMissing
	}
	return x.t.verifier.Verify(x.ctx, tok)
}

func captchaReason(err error) string {
	switch {
	case errors.Is(err, captcha.ErrMissing):
		return "missing"
	case errors.Is(err, captcha.ErrRejected):
		return "rejected"
	default:
		return "unavailable"
	}
}
