// Package store defines what otpreset needs from a host's database: users
// looked up by tenant and phone, one-time-code challenges, and sessions. The
// interfaces are small so that a host can implement them over its own tables;
// ready adapters live in sub-packages (memstore, postgres, sqlite,
// redisstore), and storetest is the conformance suite every adapter runs.
//
// Every method takes a context and returns errors that wrap the sentinels of
// this package, so callers match them with errors.Is whatever the adapter.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Adapters wrap them (fmt.Errorf("...: %w", store.ErrNotFound))
// and otpreset matches them with errors.Is. Any other error is treated as a
// fault of the store (HTTP 500, ErrorCode 950).
var (
	// ErrNotFound: no user (or session) with that key in that tenant.
	ErrNotFound = errors.New("store: not found")
	// ErrNoChallenge: no code was issued for that phone, or it was purged.
	ErrNoChallenge = errors.New("store: no code issued")
	// ErrChallengeExpired: the code's time to live has passed.
	ErrChallengeExpired = errors.New("store: code expired")
	// ErrChallengeUsed: the code was already consumed by a successful reset.
	ErrChallengeUsed = errors.New("store: code already used")
	// ErrCodeMismatch: the code given does not match; the wrong try was counted.
	ErrCodeMismatch = errors.New("store: code does not match")
	// ErrTooManyAttempts: the code has had its maximum number of wrong tries
	// and can no longer be used, even with the right value.
	ErrTooManyAttempts = errors.New("store: too many wrong tries for this code")
	// ErrNotReady: the store cannot serve at all: its server is unreachable,
	// its schema is missing or older than the code needs, or its
	// configuration is wrong (a host query that is missing or does not
	// prepare). The adapters' Check methods, and their constructors and
	// Migrate where they can tell, wrap it; a host checks at start and
	// refuses to serve rather than answer every request with a 950.
	ErrNotReady = errors.New("store: not ready")
)

// User is the part of a host's user that otpreset reads and writes.
type User struct {
	TenantID string
	// ID is the user's stable identifier (LoginRadius's Uid).
	ID string
	// Phone is the user's phone number in E.164 form (+919999999999).
	Phone string
	// PasswordHash is a PHC-format hash ($argon2id$...). Never logged, never
	// returned to a client.
	PasswordHash string
	// Profile is the user's whole LoginRadius-style profile as JSON. Stores keep
	// it byte-for-byte in meaning (a JSON column), so fields otpreset does not
	// know survive a reset.
	Profile json.RawMessage
}

// Challenge is an issued one-time code. The code itself is never stored: only
// CodeHash, an HMAC-SHA256 of it under a server secret.
type Challenge struct {
	TenantID string
	Phone    string
	CodeHash []byte
	// CreatedAt and ExpiresAt bound the code's life; stores may purge it after
	// ExpiresAt.
	CreatedAt time.Time
	ExpiresAt time.Time
	// MaxAttempts is how many wrong tries the code tolerates; the next wrong
	// try, and every try after it, fails with ErrTooManyAttempts.
	MaxAttempts int
}

// CodeCheck names a challenge and the code hash presented for it.
type CodeCheck struct {
	TenantID string
	Phone    string
	CodeHash []byte
	// Now is the instant the check is made at (from the handler's clock), so
	// expiry is decided by one clock, not by each database's.
	Now time.Time
}

// PasswordChange replaces a user's password hash and profile.
type PasswordChange struct {
	TenantID     string
	UserID       string
	PasswordHash string
	// Profile is the updated profile (LastPasswordChangeDate set, etc.).
	Profile   json.RawMessage
	ChangedAt time.Time
}

// Session is an issued access/refresh token pair. Only SHA-256 hashes of the
// tokens are stored.
type Session struct {
	ID               string
	TenantID         string
	UserID           string
	AccessTokenHash  []byte
	RefreshTokenHash []byte
	CreatedAt        time.Time
	ExpiresAt        time.Time
}

// OutboxMessage is a webhook event written in the same transaction as the
// password change, so that it cannot be lost if the process dies after the
// commit. A dispatcher (package webhook) delivers and marks it.
type OutboxMessage struct {
	ID        string // stable event id (the webhook-id), for de-duplication
	TenantID  string
	Payload   json.RawMessage
	CreatedAt time.Time
}

// Users reads and updates users.
type Users interface {
	// UserByPhone returns the user of tenantID whose phone is phone (E.164),
	// or an error wrapping ErrNotFound.
	UserByPhone(ctx context.Context, tenantID, phone string) (User, error)
	// UpdatePassword replaces the password hash and profile. ErrNotFound if
	// the user does not exist.
	UpdatePassword(ctx context.Context, change PasswordChange) error
}

// Challenges keeps one-time-code challenges, at most one live per tenant and
// phone.
type Challenges interface {
	// SaveChallenge stores c, replacing any earlier challenge for the same
	// tenant and phone (used or not), with a fresh attempt count.
	SaveChallenge(ctx context.Context, c Challenge) error
	// VerifyChallenge checks a code without consuming it. A wrong code is
	// counted atomically and reported as ErrCodeMismatch; the other outcomes
	// are ErrNoChallenge, ErrChallengeExpired, ErrChallengeUsed and
	// ErrTooManyAttempts. nil means the code is right and still usable.
	VerifyChallenge(ctx context.Context, check CodeCheck) error
	// ConsumeChallenge is VerifyChallenge that, on a match, marks the code
	// used in the same atomic step: of many concurrent callers with the right
	// code, exactly one gets nil; the others get ErrChallengeUsed.
	ConsumeChallenge(ctx context.Context, check CodeCheck) error
}

// Sessions keeps issued sessions so that a reset can revoke them.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	// RevokeSessions ends every session of the user and reports how many.
	RevokeSessions(ctx context.Context, tenantID, userID string) (int, error)
}

// SessionLookup is implemented by stores that can find a session by its
// access token. otpreset never calls it: it is for hosts that accept the
// access_token a reset issued, and look it up by otpreset.TokenHash(token).
// memstore, redisstore, store/postgres and store/sqlite implement it (with a
// Composite, ask its Sessions part); storetest checks it when a store does.
type SessionLookup interface {
	// LookupSession finds a live (unexpired, unrevoked) session by the hash of
	// its access token, or returns an error wrapping ErrNotFound.
	LookupSession(ctx context.Context, tenantID string, accessTokenHash []byte, now time.Time) (Session, error)
}

// Store is everything otpreset needs.
type Store interface {
	Users
	Challenges
	Sessions
}

// Reset is everything a successful password reset changes.
type Reset struct {
	// Check names the code; it is consumed.
	Check CodeCheck
	// Change is the new password hash and profile.
	Change PasswordChange
	// NewSession, when not nil, is created after every earlier session of the
	// user is revoked.
	NewSession *Session
	// Outbox holds webhook events to write with the change (may be empty).
	Outbox []OutboxMessage
	// Previous is the hash and profile before the reset. ApplyReset writes
	// them back when a step after the password change fails in a store that
	// is not a Resetter; atomic stores ignore it.
	Previous *PasswordChange
	// ClearGuesses asks a Resetter that also keeps the guessing budget
	// (Guesses) to forget the budget of Check's tenant and phone in the same
	// step, when the reset succeeds (otpreset then makes no ClearGuesses
	// call of its own). Other stores ignore it.
	ClearGuesses bool
}

// Resetter is implemented by stores that apply a whole Reset atomically (one
// SQL transaction): consume the code, replace the password, revoke sessions,
// create the new session and write the outbox, or do none of it. When the code
// does not match, the wrong try is still counted (committed) and the error
// wraps ErrCodeMismatch. otpreset uses it when the store offers it; otherwise
// it runs the steps one by one (see ApplyReset).
type Resetter interface {
	Reset(ctx context.Context, r Reset) error
}

// Outbox is implemented by stores that keep webhook events durably.
type Outbox interface {
	// PendingOutbox returns up to limit undelivered messages, oldest first.
	PendingOutbox(ctx context.Context, limit int) ([]OutboxMessage, error)
	// MarkDelivered records that the message with id was delivered.
	MarkDelivered(ctx context.Context, id string) error
}

// ErrOutboxUnsupported is returned by ApplyReset when r carries outbox
// messages but s cannot write them atomically.
var ErrOutboxUnsupported = errors.New("store: outbox needs a store that implements Resetter and Outbox")

// ApplyReset applies r with s.Reset when s implements Resetter. Otherwise it
// runs the steps one by one: the code is consumed (from then on it is spent),
// the password replaced, every session revoked and the new session created.
// When a step after the password fails, the previous hash and profile
// (r.Previous) are written back, so a failed reset leaves the old password
// working and no old session revoked, as an atomic store would; only when that
// compensation itself fails is the store left half done, and the error says so.
func ApplyReset(ctx context.Context, s Store, r Reset) error {
	if rs, ok := s.(Resetter); ok {
		return rs.Reset(ctx, r)
	}
	if len(r.Outbox) > 0 {
		return ErrOutboxUnsupported
	}
	if err := s.ConsumeChallenge(ctx, r.Check); err != nil {
		return err
	}
	if err := s.UpdatePassword(ctx, r.Change); err != nil {
		return err
	}
	undo := func(cause error) error {
		if r.Previous == nil {
			return fmt.Errorf("%w (the new password stays set: no previous one to restore)", cause)
		}
		if err := s.UpdatePassword(ctx, *r.Previous); err != nil {
			return errors.Join(cause, fmt.Errorf("store: restoring the previous password failed, the new one stays set: %w", err))
		}
		return cause
	}
	if err := guard(func() error {
		_, err := s.RevokeSessions(ctx, r.Change.TenantID, r.Change.UserID)
		return err
	}); err != nil {
		return undo(err)
	}
	if r.NewSession != nil {
		if err := guard(func() error { return s.CreateSession(ctx, *r.NewSession) }); err != nil {
			return undo(err)
		}
	}
	return nil
}

// ErrPanic wraps a panic raised by a store method during ApplyReset, turned
// into an error so the password change can still be undone.
var ErrPanic = errors.New("store: panic")

func guard(step func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %v", ErrPanic, v)
		}
	}()
	return step()
}

// Composite joins separate parts into a Store: for example users in the
// host's SQL database and challenges and sessions in Redis. It is not atomic
// across its parts; ApplyReset runs the steps one by one. Guesses, when set,
// keeps the guessing budget (GuessesOf finds it); left nil, otpreset keeps
// the budget in memory, per instance, and warns.
type Composite struct {
	Users
	Challenges
	Sessions
	Guesses
}

// UserCode is what VerifyUserCode found: the user of the check's tenant and
// phone, and the code's verdict.
type UserCode struct {
	// User is the user; the zero User when Found is false.
	User  User
	Found bool
	// Verdict is VerifyChallenge's answer for the check: nil when the code
	// is right and still usable (it is not consumed), or an error wrapping
	// ErrCodeMismatch (the wrong try was counted), ErrNoChallenge,
	// ErrChallengeExpired, ErrChallengeUsed or ErrTooManyAttempts.
	Verdict error
}

// UserCodeVerifier is implemented by stores that look a user up and check a
// code in one round trip (store/postgres: one statement, or one pipelined
// batch with HostUsers). It is UserByPhone and VerifyChallenge of the same
// tenant and phone, except that the code is checked, and a wrong try
// counted, whether or not the user exists, so a reset for an unknown phone
// does the same store work as one for a known phone. The error is for
// faults only; verdicts are in UserCode.
type UserCodeVerifier interface {
	VerifyUserCode(ctx context.Context, check CodeCheck) (UserCode, error)
}

// UserChallengeSaver is implemented by stores that save a code and look its
// user up in one round trip. SaveChallengeFindUser is SaveChallenge(c) and
// UserByPhone(c.TenantID, c.Phone): the challenge is saved whether or not
// the user exists (a send does the same work for every phone), and an
// unknown phone is an error wrapping ErrNotFound.
type UserChallengeSaver interface {
	SaveChallengeFindUser(ctx context.Context, c Challenge) (User, error)
}
