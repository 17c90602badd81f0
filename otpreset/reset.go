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

// reset answers PUT: decode, limit the client's address, gate (captcha),
// check the new password's policy, compare the code under the lockout and
// the budget (one store step; nothing of the phone is counted before it),
// then, for the right code only, find the user, check the password and
// apply.
func (f *flow) reset(rs *resetting) (any, error) {
	x := &rs.exchange
	rs.otp = x.body["otp"]
	switch {
	case x.body["password"] == "":
		return nil, errMissingPassword
	case x.body["phone"] == "":
		return nil, errMissingPhone
	case rs.otp == "":
		return nil, errMissingOTP
	}
	if e := f.readPhone(x, x.t.resetLog); e != nil {
		return nil, e
	}
	if e := f.limitIP(x, "reset", x.t.resetPerIP); e != nil {
		return nil, e
	}
	solved, err := f.gate(x)
	if err != nil {
		return nil, err
	}
	rs.solved = solved
	if e := f.checkPolicy(rs); e != nil {
		return nil, e
	}
	if e := f.attemptCode(rs); e != nil {
		return nil, e
	}
	if e := f.findUser(rs); e != nil {
		return nil, e
	}
	if e := f.checkPassword(rs); e != nil {
		return nil, e
	}
	return f.applyReset(rs)
}

// checkPolicy refuses a new password the tenant's policy does not allow,
// before the code is compared.
func (f *flow) checkPolicy(rs *resetting) error {
	normalized, err := rs.t.Password.Check(rs.body["password"], rs.phone)
	if err == nil {
		rs.password = normalized
		return nil
	}
	var ve *password.ValidationError
	if errors.As(err, &ve) {
		fields := make([]fieldError, 0, len(ve.Problems))
		for _, p := range ve.Problems {
			fields = append(fields, fieldError{FieldName: p.Field, ErrorMessage: p.Message})
		}
		return refuse(errValidation(fields), "password policy")
	}
	return faultAt("password policy", err)
}

// findUser looks up the phone's user once its code is known right: a wrong
// code never reads the user (its hash, its profile), so its cost does not
// tell known phones from unknown ones.
func (f *flow) findUser(rs *resetting) error {
	ctx, span := f.startSpan(rs.ctx, "store.UserByPhone")
	user, err := f.cfg.Store.UserByPhone(ctx, rs.t.ID, rs.phone)
	endSpan(span, faultOnly(err))
	switch {
	case errors.Is(err, store.ErrNotFound): // a code for a user since deleted
		return f.failedCode(&rs.exchange, err)
	case err != nil:
		return faultAt("find user", err)
	}
	rs.user = user
	return nil
}

// checkPassword refuses a breached password (1315) and, where the tenant
// asks, the current one (1134).
func (f *flow) checkPassword(rs *resetting) error {
	if rs.t.Breach != nil {
		ctx, span := f.startSpan(rs.ctx, "password.Breached")
		breached, err := rs.t.Breach.Breached(ctx, rs.password)
		endSpan(span, err)
		if err != nil {
			return faultAt("breach check", err)
		}
		if breached {
			return refuse(errBreached, "breached password")
		}
	}
	if rs.t.RejectPreviousPassword && rs.user.PasswordHash != "" {
		ctx, span := f.startSpan(rs.ctx, "password.Compare")
		same, err := f.cfg.Hasher.Compare(ctx, rs.password, rs.user.PasswordHash)
		endSpan(span, err)
		if err != nil {
			return faultAt("compare previous password", err)
		}
		if same {
			return refuse(errValidation([]fieldError{{FieldName: password.FieldPassword, ErrorMessage: "The new password must differ from the current one"}}), "previous password")
		}
	}
	return nil
}

// applyReset hashes the password and, in one store step, consumes the code,
// replaces the password, revokes every session, creates the new one and
// writes the outbox; then it clears the lockout and emits the webhook.
func (f *flow) applyReset(rs *resetting) (any, error) {
	hashStart := time.Now()
	hashCtx, span := f.startSpan(rs.ctx, "password.Hash")
	hash, err := f.cfg.Hasher.Hash(hashCtx, rs.password)
	endSpan(span, err)
	f.cfg.Observer.Hashed(time.Since(hashStart))
	if err != nil {
		return nil, faultAt("hash", err)
	}
	now := f.cfg.Clock.Now()
	profile, err := updatedProfile(rs.user, now)
	if err != nil {
		return nil, faultAt("profile", err)
	}
	change, tokens, event, e := f.buildReset(rs, hash, profile, now)
	if e != nil {
		return nil, e
	}
	// The reset must not be half done because the client went away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(rs.ctx), f.cfg.ApplyTimeout)
	defer cancel()
	applyCtx, span := f.startSpan(ctx, "store.ApplyReset")
	err = store.ApplyReset(applyCtx, f.cfg.Store, change)
	endSpan(span, faultOnly(err))
	switch {
	case errors.Is(err, store.ErrCountersKept): // done; the counters lapse on their own
		rs.logger().Error("the phone's counters were not cleared after the reset", "err", err)
	case err != nil && outcomeOf(err).known: // the right code, lost to a concurrent success
		return nil, f.failedCode(&rs.exchange, err)
	case err != nil:
		return nil, faultAt("apply reset", err)
	}
	f.afterReset(ctx, rs, now)
	f.notify(rs, now)
	if event != nil {
		if err := f.cfg.Webhooks.Emit(ctx, *event); err != nil {
			rs.logger().Error("webhook not accepted", "event", event.ID, "err", err)
		}
	}
	rs.logger().Info("password reset", "user", rs.user.ID)
	if rs.t.LegacyResetAnswer {
		return resetResponse{IsPosted: true}, nil
	}
	return resetResponse{IsPosted: true, Data: &resetData{Profile: profile, AccessToken: tokens.AccessToken, RefreshToken: tokens.RefreshToken, ExpiresIn: tokens.ExpiresAt}}, nil
}

// buildReset is everything the store step changes, the new session's
// tokens, and the webhook event to emit after it (nil when suppressed or
// written to the outbox).
func (f *flow) buildReset(rs *resetting, hash string, profile Profile, now time.Time) (store.Reset, Tokens, *webhook.Event, error) {
	t, user := rs.t, rs.user
	profileJSON, err := json.Marshal(profile)
	if err != nil {
		return store.Reset{}, Tokens{}, nil, faultAt("profile", err)
	}
	change := store.Reset{
		Check:    rs.check,
		Change:   store.PasswordChange{TenantID: t.ID, UserID: user.ID, PasswordHash: hash, Profile: profileJSON, ChangedAt: now},
		Previous: &store.PasswordChange{TenantID: t.ID, UserID: user.ID, PasswordHash: user.PasswordHash, Profile: user.Profile, ChangedAt: now},
	}
	var tokens Tokens
	if !t.LegacyResetAnswer {
		if tokens, err = f.cfg.Tokens.Issue(rs.ctx, &t.Tenant, user, now); err != nil {
			return store.Reset{}, Tokens{}, nil, faultAt("tokens", err)
		}
		change.NewSession = newSession(t, user.ID, tokens, now)
	}
	if rs.preventWebhook() {
		return change, tokens, nil, nil
	}
	event := &webhook.Event{ID: uuid.NewString(), TenantID: t.ID, Name: webhook.HookResetPassword, Time: now, Data: profileJSON}
	if !f.cfg.WebhookOutbox {
		return change, tokens, event, nil
	}
	payload, err := event.Payload()
	if err != nil {
		return store.Reset{}, Tokens{}, nil, faultAt("webhook payload", err)
	}
	change.Outbox = []store.OutboxMessage{{ID: event.ID, TenantID: t.ID, Payload: payload, CreatedAt: now}}
	return change, tokens, nil, nil
}

// codeOutcome is what otpreset makes of a store's verdict on a phone/code
// pair: the reason it logs, and the answer LoginRadius's catalogue gives
// (DetailedErrors); without that option every one of them is 401/1409.
type codeOutcome struct {
	known    bool // one of the verdicts below, not a fault
	reason   string
	detailed *apiError
}

// codeOutcomes is the one table from a store verdict to its reason and
// detailed answer, in the order they are matched. Which verdicts count
// against the lockout and the budget is the store's (store.Counted).
var codeOutcomes = []struct {
	verdict error
	codeOutcome
}{
	{store.ErrNotFound, codeOutcome{true, "unknown phone", errUserNotExist}},
	{store.ErrChallengeUsed, codeOutcome{true, "code already used", errUsedOTP}},
	{store.ErrChallengeExpired, codeOutcome{true, "code expired", errExpiredOTP}},
	{store.ErrNoChallenge, codeOutcome{true, "no code issued", errNoOTP}},
	{store.ErrTooManyAttempts, codeOutcome{true, "code tried too often", errNoOTP}},
	{store.ErrCodeMismatch, codeOutcome{true, "wrong code", errInvalidOTP}},
}

// outcomeOf finds err's row of codeOutcomes; known is false for a fault.
func outcomeOf(err error) codeOutcome {
	if i := outcomeIndex(err); i >= 0 {
		return codeOutcomes[i].codeOutcome
	}
	return codeOutcome{}
}

// outcomeIndex is the row of codeOutcomes whose verdict err is, or -1.
func outcomeIndex(err error) int {
	for i, o := range codeOutcomes {
		if errors.Is(err, o.verdict) {
			return i
		}
	}
	return -1
}

// faultOnly is err unless it is a verdict a store gives in the normal
// course (no user, a wrong code): those are not faults on a span.
func faultOnly(err error) error {
	if err == nil || outcomeOf(err).known {
		return nil
	}
	return err
}

// failedCode answers a phone/code pair that did not authenticate: one
// answer for every cause unless the tenant asks for LoginRadius's catalogue.
func (f *flow) failedCode(x *exchange, cause error) error {
	switch i := outcomeIndex(cause); {
	case i < 0:
		return faultAt("check code", cause)
	case !x.t.DetailedErrors:
		return codeRefusals[i].plain
	default:
		return codeRefusals[i].detailed
	}
}

// codeRefusals are failedCode's answers to each row of codeOutcomes, made
// once: a refusal is never changed, and a wrong code is the request most
// often refused.
var codeRefusals = func() []struct{ plain, detailed error } {
	out := make([]struct{ plain, detailed error }, len(codeOutcomes))
	for i, o := range codeOutcomes {
		out[i].plain, out[i].detailed = refuse(errAuthFailed, o.reason), refuse(o.detailed, o.reason)
	}
	return out
}()

// afterReset calls the host's Config.AfterReset for a committed reset. A
// panic in it is the host's fault, not the reset's: it is logged and the
// answer is still the success it is.
func (f *flow) afterReset(ctx context.Context, rs *resetting, at time.Time) {
	if f.cfg.AfterReset == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			rs.logger().Error("Config.AfterReset panicked; the reset stays done", "panic", fmt.Sprint(v))
		}
	}()
	f.cfg.AfterReset(ctx, ResetEvent{TenantID: rs.t.ID, UserID: rs.user.ID, At: at})
}
