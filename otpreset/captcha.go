package otpreset

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/otpreset/go/captcha"
)

// gate applies the tenant's captcha policy before anything touches a code,
// and on the send endpoint the phone's lockout too (a reset decides its
// lockout when it takes its guess). It returns the refusal, or nil to go on;
// solved reports a captcha verified on the way.
func (f *flow) gate(x *exchange, send bool) (solved bool, err error) {
	if send {
		locked, until, err := f.peekLock(x)
		switch {
		case err != nil:
			return false, err
		case locked && !x.t.lockout.captcha:
			x.log.Warn("refused", "reason", "locked")
			return false, errLocked(until.UTC().Format(time.RFC3339), retryAfter(f.cfg.Clock.Now(), until))
		case locked:
			if err := f.lockedCaptcha(x, false); err != nil {
				return false, err
			}
			solved = true
		}
	}
	if x.t.captchaMode == CaptchaAlways && !solved {
		if err := f.checkCaptcha(x); err != nil {
			x.log.Warn("refused", "reason", "captcha", "captcha", captchaReason(err))
			f.cfg.Observer.CaptchaFailed(x.t.id, captchaReason(err))
			return false, errCaptcha
		}
		solved = true
	}
	return solved, nil
}

// lockedCaptcha is the captcha lockout: a locked phone goes on only with a
// freshly solved captcha (solved: one was verified for this request already).
func (f *flow) lockedCaptcha(x *exchange, solved bool) error {
	if solved {
		return nil
	}
	err := f.checkCaptcha(x)
	if err == nil {
		return nil
	}
	x.log.Warn("refused", "reason", "locked, captcha required", "captcha", captchaReason(err))
	f.cfg.Observer.CaptchaFailed(x.t.id, captchaReason(err))
	if errors.Is(err, captcha.ErrMissing) {
		return errCaptchaRequired
	}
	return errCaptcha
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
	ctx, span := f.startSpan(x.ctx, "captcha.Verify")
	err := x.t.verifier.Verify(ctx, tok)
	span.SetAttributes(attribute.String("otpreset.captcha", captchaOutcome(err)))
	span.End()
	return err
}

func captchaOutcome(err error) string {
	if err == nil {
		return "solved"
	}
	return captchaReason(err)
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
