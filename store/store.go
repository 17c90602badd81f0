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
	// Nonce is the random value the code was derived from (with a server
	// secret only the handler holds), so that the handler can send the same
	// code again while it lives; it tells nothing without that secret.
	Nonce    []byte
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
// phone, and the counters that guard them: per phone and client network, a
// send limit and an escalating lockout after wrong codes; per phone, the
// guessing budget (README "Security model"). Each method is one atomic step
// per phone, also under concurrent calls from several instances; storetest
// checks it, against the reference steps of this package (NextAttempt,
// NextIssue).
type Challenges interface {
	// IssueChallenge counts a send from iss.Network against iss.SendLimit
	// and, unless the limit refuses it (Issued.Limited: nothing else
	// changes) or iss.NoUser is set, saves iss.Challenge: or, when the
	// phone holds a live code (unexpired, unused, with tries left), keeps
	// that one as it is, so that anyone's send never spoils the owner's
	// code. Issued.Challenge is the code in effect. A Challenges that
	// keeps no users leaves Issued.User and Found zero.
	IssueChallenge(ctx context.Context, iss Issue) (Issued, error)
	// CheckCode decides in one atomic step whether a.Check's code may be
	// compared (the network's lockout, the phone's budget), compares it
	// without consuming it, and counts a failed comparison against both
	// (and the code's tries). The right code is counted by nothing. Errors
	// are faults only; the outcome is in Verdict.
	CheckCode(ctx context.Context, a Attempt) (Verdict, error)
	// ConsumeChallenge checks a right, usable code and marks it used in the
	// same atomic step: of many concurrent callers with the right code,
	// exactly one gets nil; the others get ErrChallengeUsed. A wrong code
	// counts against the code's own tries (ErrCodeMismatch), never against
	// the network or budget counters (ApplyReset calls it after CheckCode
	// said right).
	ConsumeChallenge(ctx context.Context, check CodeCheck) error
	// ClearCounters forgets every counter of the tenant's phone: the
	// lockout and send count of each network and the guessing budget. A
	// successful reset does it (ApplyReset), and so does an operator
	// lifting a lockout (otpreset's Handler.Unlock).
	ClearCounters(ctx context.Context, tenantID, phone string) error
}

// Sessions keeps issued sessions so that a reset can revoke them.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	// RevokeSessions ends every session of the user and reports how many.
	RevokeSessions(ctx context.Context, tenantID, userID string) (int, error)
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
}

// Resetter is implemented by stores that apply a whole Reset atomically (one
// SQL transaction): consume the code, replace the password (exactly one row),
// revoke sessions, create the new session, write the outbox and clear the
// phone's counters, or do none of it. Its reason: a failed reset then leaves
// the code usable, not spent. otpreset uses it when the store offers it;
// otherwise it runs the steps one by one (see ApplyReset).
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
// the password replaced, every session revoked, the new session created and
// the phone's counters cleared (a failure to clear them is not the reset's:
// it is returned wrapped in ErrCountersKept, with the reset done).
// When a step after the password fails, the previous hash and profile
// (r.Previous) are written back, so a failed reset leaves the old password
// working and no old session revoked, as an atomic store would; only when that
// compensation itself fails is the store left half done, and the error says so.
// It is written back only while the password is still the one this reset
// set: a later reset of the same phone that succeeded meanwhile is kept.
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
		// Only this reset's own password is taken back. r.Previous was read
		// when the reset began; a reset of the same phone (with a later
		// code) that succeeded since then set a password of its own, and
		// writing r.Previous over it would silently undo a reset whose
		// client was told it succeeded. A change in the instant between
		// this read and the write below is not seen: stores that are
		// Resetters have no such window.
		if cur, err := s.UserByPhone(ctx, r.Check.TenantID, r.Check.Phone); err == nil &&
			(cur.ID != r.Change.UserID || cur.PasswordHash != r.Change.PasswordHash) {
			return fmt.Errorf("%w (the password was changed again since this reset set it: that change is kept)", cause)
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
	if err := guard(func() error { return s.ClearCounters(ctx, r.Check.TenantID, r.Check.Phone) }); err != nil {
		return fmt.Errorf("%w: %w", ErrCountersKept, err)
	}
	return nil
}

// ErrCountersKept is returned by ApplyReset when the reset is done but the
// phone's counters could not be cleared: the caller answers the success and
// logs it (the counters lapse on their own).
var ErrCountersKept = errors.New("store: reset done, counters not cleared")

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
// host's SQL database, and challenges, counters and sessions in Redis. It is
// not atomic across its parts; ApplyReset runs the steps one by one, and
// IssueCode looks the user up before the Challenges part issues the code.
type Composite struct {
	Users
	Challenges
	Sessions
}

// CodeIssuer is implemented by stores that look a phone's user up and issue
// its code in one round trip (store/postgres and store/sqlite: one
// statement; memstore). Its reason: a send is then one round trip. Without
// it, IssueCode makes two calls of the same meaning.
type CodeIssuer interface {
	// IssueCode is UserByPhone of iss's tenant and phone, then
	// IssueChallenge with iss.NoUser set when there is no user, as one
	// step; Issued.User and Found tell the user. iss.NoUser is ignored.
	IssueCode(ctx context.Context, iss Issue) (Issued, error)
}

// IssueCode finds the user of iss's phone and issues its code: s.IssueCode
// when s is a CodeIssuer; otherwise UserByPhone, then IssueChallenge with
// NoUser set for an unknown phone (which counts the send and stores
// nothing).
func IssueCode(ctx context.Context, s Store, iss Issue) (Issued, error) {
	if ci, ok := s.(CodeIssuer); ok {
		return ci.IssueCode(ctx, iss)
	}
	user, err := s.UserByPhone(ctx, iss.Challenge.TenantID, iss.Challenge.Phone)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Issued{}, err
	}
	iss.NoUser = err != nil
	issued, err := s.IssueChallenge(ctx, iss)
	if err != nil {
		return Issued{}, err
	}
	issued.User, issued.Found = user, !iss.NoUser
	return issued, nil
}
