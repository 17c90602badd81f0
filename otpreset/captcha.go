package otpreset

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"

	"github.com/otpreset/go/captcha"
)

// gate applies the tenant's captcha mode before anything of the phone is
// counted: a request refused for its captcha costs the phone nothing. In
// CaptchaAlways every request must carry a solved captcha (1218 otherwise);
// solved reports one verified on the way, which later steps reuse.
func (f *flow) gate(x *exchange) (solved bool, err error) {
	if x.t.Captcha.Mode != CaptchaAlways {
		return false, nil
	}
	if err := f.checkCaptcha(x); err != nil {
		f.cfg.Observer.CaptchaFailed(x.t.ID, captchaReason(err))
		return false, refuse(errCaptcha, "captcha "+captchaReason(err))
	}
	return true, nil
}

// captchaFor asks the request for a freshly solved captcha because of why
// (a lockout, a spent budget, a cap): nil when it carries one, else 1132
// (none sent) or 1218 (refused, or the provider failed: fail closed).
func (f *flow) captchaFor(x *exchange, why string) error {
	err := f.checkCaptcha(x)
	if err == nil {
		return nil
	}
	f.cfg.Observer.CaptchaFailed(x.t.ID, captchaReason(err))
	if errors.Is(err, captcha.ErrMissing) {
		return refuse(errCaptchaRequired, why+", captcha required")
	}
	return refuse(errCaptcha, why+", captcha "+captchaReason(err))
}

// checkCaptcha verifies the request's captcha with the tenant's verifier.
// New refuses a tenant that needs a verifier and has none; a missing one
// still fails closed.
func (f *flow) checkCaptcha(x *exchange) error {
	if x.t.Captcha.Verifier == nil {
		return fmt.Errorf("otpreset: tenant %s asks for a captcha but has no verifier: %w", x.t.ID, captcha.ErrUnavailable)
	}
	tok := captcha.TokenFrom(x.param, x.ip)
	if tok.Response == "" {
		return captcha.ErrMissing
	}
	ctx, span := f.startSpan(x.ctx, "captcha.Verify")
	err := x.t.Captcha.Verifier.Verify(ctx, tok)
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
