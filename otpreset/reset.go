package otpreset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/webhook"
)

// resetResponse is the 200 answer of PUT /identity/v2/auth/password/otp.
type resetResponse struct {
	IsPosted bool       `json:"IsPosted"`
	Data     *resetData `json:"Data,omitempty"`
}

// resetData is the Data of a successful reset answer.
type resetData struct {
	Profile      Profile `json:"Profile"`
	AccessToken  string  `json:"access_token"`
	RefreshToken string  `json:"refresh_token"`
	// ExpiresIn is an RFC 3339 timestamp (LoginRadius's name, not a duration).
	ExpiresIn time.Time `json:"expires_in"`
}

// resetting is a reset request on its way: what the later steps share.
type resetting struct {
	exchange
	otp           string
	password      string // normalised by the policy: the form to hash
	user          store.User
	check         store.CodeCheck
	captchaSolved bool         // a captcha was verified for this request
	guess         *store.Guess // the guess taken for the comparison, until given back
}

// reset answers PUT: decode, limit, gate (captcha), check the password,
// take a guess from the phone's budget (the lockout), check the code, then
// apply and answer.
func (f *flow) reset(r *resetting) (any, error) {
	x := &r.exchange
	r.otp = x.body["otp"]
	switch {
	case x.body["password"] == "":
		return nil, errMissingPassword
	case x.body["phone"] == "":
		return nil, errMissingPhone
	case r.otp == "":
		return nil, errMissingOTP
	}
	if e := f.readPhone(x, x.t.resetLog); e != nil {
		return nil, e
	}
	if e := f.limitIPAndPhone(x, "reset", x.t.resetPerIP, x.t.resetPerPhone, resetLimited); e != nil {
		return nil, e
	}
	solved, err := f.gate(x, false)
	if err != nil {
		return nil, err
	}
	r.captchaSolved = solved
	if e := f.checkPolicy(r); e != nil {
		return nil, e
	}
	if e := f.takeGuess(r); e != nil {
		return nil, e
	}
	if e := f.checkCode(r); e != nil {
		return nil, e
	}
	// The code is right, so its guess is given back, unless the reset
	// succeeds: that clears the whole budget.
	body, err := f.finishReset(r)
	if err != nil {
		f.returnGuess(r)
	}
	return body, err
}

// finishReset is what follows a right code: the password checks, then the
// reset itself.
func (f *flow) finishReset(r *resetting) (any, error) {
	if e := f.checkPassword(r); e != nil {
		return nil, e
	}
	return f.applyReset(r)
}

func resetLimited(res limitResult) *apiError {
	return errResetLimit(res.reset.UTC().Format(time.RFC3339), retryAfter(time.Now(), res.reset))
}

// checkPolicy refuses a new password the tenant's policy does not allow,
// before the code is spent.
func (f *flow) checkPolicy(r *resetting) error {
	normalized, err := r.t.password.Check(r.body["password"], r.phone)
	if err == nil {
		r.password = normalized
		return nil
	}
	var ve *password.ValidationError
	if errors.As(err, &ve) {
		fields := make([]fieldError, 0, len(ve.Problems))
		for _, p := range ve.Problems {
			fields = append(fields, fieldError{FieldName: p.Field, ErrorMessage: p.Message})
		}
		r.log.Info("refused", "reason", "password policy")
		return errValidation(fields)
	}
	return faultAt("password policy", err)
}

// checkCode checks the code without spending it, before any hashing, so a
// wrong code costs no argon2id, and with the same store work whether or not
// the phone has a user, so timing does not tell them apart. The guess taken
// stays counted for a failure; the right code gives it back (reset does, if
// the reset does not succeed), also when it lost the race to a concurrent
// success (then answered like a failure).
func (f *flow) checkCode(r *resetting) error {
	r.check = store.CodeCheck{TenantID: r.t.id, Phone: r.phone, CodeHash: f.codes.sum(r.t.id, r.phone, r.otp), Now: f.cfg.Clock.Now()}
	uc, err := f.verifyUserCode(r)
	if err != nil {
		f.returnGuess(r)
		return faultAt("verify code", err)
	}
	switch {
	case !uc.Found:
		return f.failedCode(&r.exchange, store.ErrNotFound)
	case uc.Verdict == nil:
		r.user = uc.User
		return nil
	case errors.Is(uc.Verdict, store.ErrChallengeUsed):
		f.returnGuess(r)
		return f.failedCode(&r.exchange, uc.Verdict)
	case isCodeError(uc.Verdict):
		return f.failedCode(&r.exchange, uc.Verdict)
	}
	f.returnGuess(r)
	return faultAt("verify code", uc.Verdict)
}

// verifyUserCode looks the user up and checks the code: in one round trip
// where the store offers it (store.UserCodeVerifier), else as two calls that
// check the code for an unknown phone too.
func (f *flow) verifyUserCode(r *resetting) (uc store.UserCode, err error) {
	ctx, span := f.startSpan(r.ctx, "store.VerifyUserCode")
	defer func() { endSpan(span, err) }()
	if v, ok := f.cfg.Store.(store.UserCodeVerifier); ok {
		return v.VerifyUserCode(ctx, r.check)
	}
	user, err := f.cfg.Store.UserByPhone(ctx, r.t.id, r.phone)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.UserCode{}, err
	}
	verdict := f.cfg.Store.VerifyChallenge(ctx, r.check)
	if verdict != nil && !isCodeError(verdict) {
		return store.UserCode{}, verdict
	}
	return store.UserCode{User: user, Found: err == nil, Verdict: verdict}, nil
}

// checkPassword refuses a breached password (1315) and, where the tenant
// asks, the current one (1134).
func (f *flow) checkPassword(r *resetting) error {
	if r.t.breach != nil {
		ctx, span := f.startSpan(r.ctx, "password.Breached")
		breached, err := r.t.breach.Breached(ctx, r.password)
		endSpan(span, err)
		if err != nil {
			return faultAt("breach check", err)
		}
		if breached {
			r.log.Info("refused", "reason", "breached password")
			return errBreached
		}
	}
	if r.t.rejectPreviousPassword && r.user.PasswordHash != "" {
		ctx, span := f.startSpan(r.ctx, "password.Compare")
		same, err := f.cfg.Hasher.Compare(ctx, r.password, r.user.PasswordHash)
		endSpan(span, err)
		if err != nil {
			return faultAt("compare previous password", err)
		}
		if same {
			r.log.Info("refused", "reason", "previous password")
			return errValidation([]fieldError{{FieldName: password.FieldPassword, ErrorMessage: "The new password must differ from the current one"}})
		}
	}
	return nil
}

// applyReset hashes the password and, in one store step, consumes the code,
// replaces the password, revokes every session, creates the new one and
// writes the outbox; then it clears the lockout and emits the webhook.
func (f *flow) applyReset(r *resetting) (any, error) {
	hashStart := time.Now()
	hashCtx, span := f.startSpan(r.ctx, "password.Hash")
	hash, err := f.cfg.Hasher.Hash(hashCtx, r.password)
	endSpan(span, err)
	f.cfg.Observer.Hashed(time.Since(hashStart))
	if err != nil {
		return nil, faultAt("hash", err)
	}
	now := f.cfg.Clock.Now()
	profile, err := updatedProfile(r.user, now)
	if err != nil {
		return nil, faultAt("profile", err)
	}
	change, tokens, event, e := f.buildReset(r, hash, profile, now)
	if e != nil {
		return nil, e
	}
	// The reset must not be half done because the client went away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), f.cfg.ApplyTimeout)
	defer cancel()
	applyCtx, span := f.startSpan(ctx, "store.ApplyReset")
	err = store.ApplyReset(applyCtx, f.cfg.Store, change)
	endSpan(span, faultOnly(err))
	if err != nil {
		if isCodeError(err) { // the right code, lost to a concurrent success
			return nil, f.failedCode(&r.exchange, err)
		}
		return nil, faultAt("apply reset", err)
	}
	if !f.resetClears {
		clearCtx, span := f.startSpan(ctx, "store.ClearGuesses")
		err = f.guesses.ClearGuesses(clearCtx, guessKey(&r.exchange))
		endSpan(span, err)
		if err != nil {
			r.log.Error("clearing the guessing budget", "err", err)
		}
	}
	f.afterReset(ctx, r, now)
	f.notify(r, now)
	if event != nil {
		if err := f.cfg.Webhooks.Emit(ctx, *event); err != nil {
			r.log.Error("webhook not accepted", "event", event.ID, "err", err)
		}
	}
	r.log.Info("password reset", "user", r.user.ID)
	if r.t.legacyResetAnswer {
		return resetResponse{IsPosted: true}, nil
	}
	return resetResponse{IsPosted: true, Data: &resetData{Profile: profile, AccessToken: tokens.AccessToken, RefreshToken: tokens.RefreshToken, ExpiresIn: tokens.ExpiresAt}}, nil
}

// buildReset is everything the store step changes, the new session's
// tokens, and the webhook event to emit after it (nil when suppressed or
// written to the outbox).
func (f *flow) buildReset(r *resetting, hash string, profile Profile, now time.Time) (store.Reset, Tokens, *webhook.Event, error) {
	t, user := r.t, r.user
	profileJSON, err := json.Marshal(profile)
	if err != nil {
		return store.Reset{}, Tokens{}, nil, faultAt("profile", err)
	}
	change := store.Reset{
		Check:        r.check,
		Change:       store.PasswordChange{TenantID: t.id, UserID: user.ID, PasswordHash: hash, Profile: profileJSON, ChangedAt: now},
		Previous:     &store.PasswordChange{TenantID: t.id, UserID: user.ID, PasswordHash: user.PasswordHash, Profile: user.Profile, ChangedAt: now},
		ClearGuesses: f.resetClears,
	}
	var tokens Tokens
	if !t.legacyResetAnswer {
		if tokens, err = f.cfg.Tokens.Issue(r.ctx, t.tenant, user, now); err != nil {
			return store.Reset{}, Tokens{}, nil, faultAt("tokens", err)
		}
		change.NewSession = newSession(t, user.ID, tokens, now)
	}
	if r.preventWebhook() {
		return change, tokens, nil, nil
	}
	event := &webhook.Event{ID: uuid.NewString(), TenantID: t.id, Name: webhook.HookResetPassword, Time: now, Data: profileJSON}
	if !f.cfg.WebhookOutbox {
		return change, tokens, event, nil
	}
	payload, err := event.Payload()
	if err != nil {
		return store.Reset{}, Tokens{}, nil, faultAt("webhook payload", err)
	}
	change.Outbox = []store.OutboxMessage{{ID: event.ID, TenantID: t.id, Payload: payload, CreatedAt: now}}
	return change, tokens, nil, nil
}

func isCodeError(err error) bool {
	return errors.Is(err, store.ErrCodeMismatch) || errors.Is(err, store.ErrChallengeUsed) ||
		errors.Is(err, store.ErrChallengeExpired) || errors.Is(err, store.ErrNoChallenge) ||
		errors.Is(err, store.ErrTooManyAttempts) || errors.Is(err, store.ErrNotFound)
}

// failedCode answers a phone/code pair that did not authenticate: one
// answer for every cause unless the tenant asks for LoginRadius's catalogue.
// The guess it cost was counted when it was taken.
func (f *flow) failedCode(x *exchange, cause error) error {
	x.log.Info("refused", "reason", reasonOf(cause))
	if !x.t.detailedErrors {
		return errAuthFailed
	}
	switch {
	case errors.Is(cause, store.ErrNotFound):
		return errUserNotExist
	case errors.Is(cause, store.ErrChallengeUsed):
		return errUsedOTP
	case errors.Is(cause, store.ErrChallengeExpired):
		return errExpiredOTP
	case errors.Is(cause, store.ErrNoChallenge), errors.Is(cause, store.ErrTooManyAttempts):
		return errNoOTP
	default:
		return errInvalidOTP
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

// afterReset calls the host's Config.AfterReset for a committed reset. A
// panic in it is the host's fault, not the reset's: it is logged and the
// answer is still the success it is.
func (f *flow) afterReset(ctx context.Context, r *resetting, at time.Time) {
	if f.cfg.AfterReset == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("Config.AfterReset panicked; the reset stays done", "panic", fmt.Sprint(v))
		}
	}()
	f.cfg.AfterReset(ctx, ResetEvent{TenantID: r.t.id, UserID: r.user.ID, At: at})
}
