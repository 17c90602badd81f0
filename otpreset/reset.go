package otpreset

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/webhook"
)

// serveReset answers PUT: check the code, set the new password.
func (h *Handler) serveReset(w http.ResponseWriter, r *http.Request) {
	t, q := h.begin(w, r)
	if t == nil {
		return
	}
	ctx := r.Context()
	newPassword, otp, rawPhone := q.body["password"], q.body["otp"], q.body["phone"]
	switch {
	case newPassword == "":
		writeAPIError(w, errMissingPassword)
		return
	case rawPhone == "":
		writeAPIError(w, errMissingPhone)
		return
	case otp == "":
		writeAPIError(w, errMissingOTP)
		return
	}
	phone, err := NormalizePhone(rawPhone)
	if err != nil {
		writeAPIError(w, errBadPhone)
		return
	}
	ip := h.cfg.ClientIP(r)
	log := h.log.With("tenant", t.ID, "phone", MaskPhone(phone), "endpoint", "reset")

	if !h.limits(ctx, w, log, t.ID, "reset", ip, phone, t.Limits.ResetPerIP, DefaultResetPerIP, t.Limits.ResetPerPhone, DefaultResetPerPhone,
		func(res LimitResult) *APIError {
			return errResetLimit(res.Reset.UTC().Format(time.RFC3339), retryAfter(time.Now(), res.Reset))
		}) {
		return
	}

	// Lockout and captcha before anything that touches the code.
	if apiErr := h.captchaGate(ctx, t, q, ip, phone, log); apiErr != nil {
		writeAPIError(w, apiErr)
		return
	}

	// The new password must pass the policy before the code is spent.
	normalized, err := t.Password.Check(newPassword, phone)
	if err != nil {
		var ve *password.ValidationError
		if errors.As(err, &ve) {
			fields := make([]FieldError, 0, len(ve.Problems))
			for _, p := range ve.Problems {
				fields = append(fields, FieldError{FieldName: p.Field, ErrorMessage: p.Message})
			}
			log.Info("refused", "reason", "password policy")
			writeAPIError(w, errValidation(fields))
			return
		}
		h.fault(w, log, "password policy", err)
		return
	}

	user, err := h.cfg.Store.UserByPhone(ctx, t.ID, phone)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.fault(w, log, "user lookup", err)
		return
	}
	check := store.CodeCheck{TenantID: t.ID, Phone: phone, CodeHash: h.codes.sum(t.ID, phone, otp), Now: h.cfg.Clock.Now()}
	if err != nil { // unknown phone: a failure like any other
		h.failCode(w, r, t, phone, store.ErrNotFound, log)
		return
	}
	// Check the code before hashing, so a wrong code costs no argon2id.
	if err := h.cfg.Store.VerifyChallenge(ctx, check); err != nil {
		if isCodeError(err) {
			h.failCode(w, r, t, phone, err, log)
			return
		}
		h.fault(w, log, "verify code", err)
		return
	}

	if t.Breach != nil {
		breached, err := t.Breach.Breached(ctx, normalized)
		if err != nil {
			h.fault(w, log, "breach check", err)
			return
		}
		if breached {
			log.Info("refused", "reason", "breached password")
			writeAPIError(w, errBreached)
			return
		}
	}

	if t.RejectPreviousPassword && user.PasswordHash != "" {
		same, err := h.cfg.Hasher.Compare(ctx, normalized, user.PasswordHash)
		if err != nil {
			h.fault(w, log, "compare previous password", err)
			return
		}
		if same {
			log.Info("refused", "reason", "previous password")
			writeAPIError(w, errValidation([]FieldError{{FieldName: password.FieldPassword, ErrorMessage: "The new password must differ from the current one"}}))
			return
		}
	}

	hashStart := time.Now()
	hash, err := h.cfg.Hasher.Hash(ctx, normalized)
	h.cfg.Observer.Hashed(time.Since(hashStart))
	if err != nil {
		h.fault(w, log, "hash", err)
		return
	}
	now := h.cfg.Clock.Now()
	profile, err := updatedProfile(user, now)
	if err != nil {
		h.fault(w, log, "profile", err)
		return
	}
	profileJSON, err := json.Marshal(profile)
	if err != nil {
		h.fault(w, log, "profile", err)
		return
	}
	reset := store.Reset{
		Check:    check,
		Change:   store.PasswordChange{TenantID: t.ID, UserID: user.ID, PasswordHash: hash, Profile: profileJSON, ChangedAt: now},
		Previous: &store.PasswordChange{TenantID: t.ID, UserID: user.ID, PasswordHash: user.PasswordHash, Profile: user.Profile, ChangedAt: now},
	}
	var tokens Tokens
	if !t.LegacyResetAnswer {
		if tokens, err = h.cfg.Tokens.Issue(ctx, t, user, now); err != nil {
			h.fault(w, log, "tokens", err)
			return
		}
		reset.NewSession = &store.Session{
			ID: uuid.NewString(), TenantID: t.ID, UserID: user.ID,
			AccessTokenHash: TokenHash(tokens.AccessToken), RefreshTokenHash: TokenHash(tokens.RefreshToken),
			CreatedAt: now, ExpiresAt: tokens.ExpiresAt,
		}
	}
	var event *webhook.Event
	if !preventWebhook(r, q) {
		event = &webhook.Event{ID: uuid.NewString(), TenantID: t.ID, Name: webhook.HookResetPassword, Time: now, Data: profileJSON}
		if h.cfg.WebhookOutbox {
			payload, err := event.Payload()
			if err != nil {
				h.fault(w, log, "webhook payload", err)
				return
			}
			reset.Outbox = []store.OutboxMessage{{ID: event.ID, TenantID: t.ID, Payload: payload, CreatedAt: now}}
			event = nil
		}
	}

	// The reset must not be half done because the client went away.
	applyCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := store.ApplyReset(applyCtx, h.cfg.Store, reset); err != nil {
		if isCodeError(err) { // lost a race for the same code
			h.failCode(w, r, t, phone, err, log)
			return
		}
		h.fault(w, log, "apply reset", err)
		return
	}
	if err := h.cfg.Limiter.clear(applyCtx, lockoutKey(t, phone), t.Limits); err != nil {
		log.Error("clearing lockout", "err", err)
	}
	if event != nil {
		if err := h.cfg.Webhooks.Emit(applyCtx, *event); err != nil {
			log.Error("webhook not accepted", "event", event.ID, "err", err)
		}
	}
	log.Info("password reset", "user", user.ID)

	if t.LegacyResetAnswer {
		writeJSON(w, ResetResponse{IsPosted: true})
		return
	}
	writeJSON(w, ResetResponse{IsPosted: true, Data: &ResetData{Profile: profile, AccessToken: tokens.AccessToken, RefreshToken: tokens.RefreshToken, ExpiresIn: tokens.ExpiresAt}})
}

func isCodeError(err error) bool {
	return errors.Is(err, store.ErrCodeMismatch) || errors.Is(err, store.ErrChallengeUsed) ||
		errors.Is(err, store.ErrChallengeExpired) || errors.Is(err, store.ErrNoChallenge) ||
		errors.Is(err, store.ErrTooManyAttempts) || errors.Is(err, store.ErrNotFound)
}

// failCode answers a phone/code pair that did not authenticate, and counts it
// toward the phone's lockout (known phone or not).
func (h *Handler) failCode(w http.ResponseWriter, r *http.Request, t *Tenant, phone string, cause error, log *slog.Logger) {
	locked, err := h.cfg.Limiter.fail(r.Context(), lockoutKey(t, phone), t.Limits)
	if err != nil {
		h.fault(w, log, "lockout", err)
		return
	}
	log.Info("refused", "reason", reasonOf(cause), "locked", locked)
	if locked {
		h.cfg.Observer.Lockout(t.ID)
	}
	if !t.DetailedErrors {
		writeAPIError(w, errAuthFailed)
		return
	}
	switch {
	case errors.Is(cause, store.ErrNotFound):
		writeAPIError(w, errUserNotExist)
	case errors.Is(cause, store.ErrChallengeUsed):
		writeAPIError(w, errUsedOTP)
	case errors.Is(cause, store.ErrChallengeExpired):
		writeAPIError(w, errExpiredOTP)
	case errors.Is(cause, store.ErrNoChallenge), errors.Is(cause, store.ErrTooManyAttempts):
		writeAPIError(w, errNoOTP)
	default:
		writeAPIError(w, errInvalidOTP)
	}
}

func reasonOf(err error) string {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "unknown phone"
	case errors.Is(err, store.ErrChallengeUsed):
		return "code already used"
	case errors.Is(err, store.ErrChallengeExpired):
		return "code expired"
	case errors.Is(err, store.ErrNoChallenge):
		return "no code issued"
	case errors.Is(err, store.ErrTooManyAttempts):
		return "code tried too often"
	default:
		return "wrong code"
	}
}

// captchaGate applies the lockout and the tenant's captcha policy: it
// returns the refusal to answer, or nil to go on.
func (h *Handler) captchaGate(ctx context.Context, t *Tenant, q *request, ip, phone string, log *slog.Logger) *APIError {
	locked, until, err := h.cfg.Limiter.lockout(ctx, lockoutKey(t, phone), t.Limits)
	if err != nil {
		log.Error("server fault", "step", "lockout", "err", err)
		return errInternal
	}
	need := t.Captcha.Mode == CaptchaAlways
	if locked {
		if t.Limits.LockoutType != LockoutCaptcha && t.Captcha.Mode != CaptchaAfterFailures {
			log.Warn("refused", "reason", "locked")
			return errLocked(until.UTC().Format(time.RFC3339), retryAfter(time.Now(), until))
		}
		// Captcha lockout: a valid captcha lets the request through.
		if err := h.checkCaptcha(ctx, t, q, ip); err != nil {
			log.Warn("refused", "reason", "locked, captcha required", "captcha", captchaReason(err))
			h.cfg.Observer.CaptchaFailed(t.ID, captchaReason(err))
			if errors.Is(err, captcha.ErrMissing) {
				return errCaptchaRequired
			}
			return errCaptcha
		}
		return nil
	}
	if need {
		if err := h.checkCaptcha(ctx, t, q, ip); err != nil {
			log.Warn("refused", "reason", "captcha", "captcha", captchaReason(err))
			h.cfg.Observer.CaptchaFailed(t.ID, captchaReason(err))
			return errCaptcha
		}
	}
	return nil
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

// updatedProfile is the user's profile after a reset.
func updatedProfile(u store.User, now time.Time) (Profile, error) {
	var p Profile
	if len(u.Profile) > 0 && string(u.Profile) != "null" {
		if err := json.Unmarshal(u.Profile, &p); err != nil {
			return Profile{}, err
		}
	}
	if p.Uid == "" {
		p.Uid = u.ID
	}
	if p.PhoneId == "" {
		p.PhoneId = u.Phone
	}
	now = now.UTC().Truncate(time.Second)
	p.LastPasswordChangeDate = &now
	p.ModifiedDate = &now
	p.Password = MaskedPassword
	p.IsLoginLocked = false
	p.LoginLockedType = "None"
	p.IsPasswordBreached = false
	return p, nil
}
