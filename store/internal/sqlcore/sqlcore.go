// Package sqlcore is the SQL shared by the store/postgres and store/sqlite
// adapters: one Store over any driver, with the few differences between the
// databases (time columns, named arguments, PostgreSQL's one-statement reset,
// the migration lock) in a Dialect. The adapters own the drivers, so a host
// links only the driver it imports.
//
// Adding a table (say, a failure count) is a migration file in each adapter's
// migrations directory and a method here written once with $n placeholders,
// which both databases accept.
package sqlcore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/otpreset/go/store"
)

// Config is the adapters' Config, translated.
type Config struct {
	HostUsers *HostUsers
	Logger    *slog.Logger
	Now       func() time.Time
}

// HostUsers adapts a host's existing users table; the adapters name it
// postgres.HostUsers and sqlite.HostUsers (type aliases), whose docs say how
// each database passes the parameters and converts the id. Each field is one
// SQL statement written with named parameters (@name); a query may leave out
// parameters it has no use for (a single-tenant host ignores @tenant_id, a
// table without a profile column ignores @profile). Inside Reset the
// statements run in the same transaction as the code's consumption, so a
// failure anywhere rolls the whole reset back.
//
// @phone is always E.164 ("+919999999999", as otpreset.NormalizePhone
// returns it), so the phones of the host's table must be stored in that form
// to be found: an unnormalised phone is an unknown phone, which gets the
// same answer as any unknown phone and no SMS.
type HostUsers struct {
	// UserByPhone, required, selects at most one row of three columns: the
	// user's ID (text, integer or uuid), the password hash (text, a PHC
	// string) and the profile (a JSON object; NULL, from a table without a
	// profile column, reads as MinimalProfile). Parameters: @tenant_id,
	// @phone.
	UserByPhone string
	// UpdatePassword, required, updates the user's password hash (and
	// profile, if the table keeps one). It must change exactly one row: none
	// is store.ErrNotFound, more than one TooManyRows (rolled back).
	// Parameters: @tenant_id, @user_id (as text), @password_hash, @profile
	// (JSON text), @changed_at.
	UpdatePassword string
	// AddUser, optional, inserts or replaces a user; only Store.AddUser (and
	// so the conformance suite and otpresettest) uses it. Parameters:
	// @tenant_id, @user_id, @phone, @password_hash, @profile (JSON text). A
	// table whose ids the database generates leaves @user_id out.
	AddUser string
}

// Dialect holds what differs between the databases.
type Dialect struct {
	// Name is "postgres" or "sqlite"; it prefixes every error.
	Name string
	// Time converts a time to the column's representation: timestamptz on
	// PostgreSQL, Unix nanoseconds on SQLite.
	Time func(time.Time) any
	// Named turns named arguments into the driver's form.
	Named func(map[string]any) []any
	// ResetFast, when set, applies a whole reset in fewer round trips; it
	// reports ok=false when the code was not consumed (and nothing
	// changed), and the general path then classifies and counts the try.
	ResetFast func(ctx context.Context, s *Store, r store.Reset) (ok bool, err error)
	// LockPhone, when set, is run first in Reset's general transaction
	// ($1 tenant, $2 phone): the lock every step that changes several rows
	// of one phone takes first, so that they never deadlock ("" where the
	// transaction's write lock serialises everything).
	LockPhone string
	// Purge holds the statements that delete up to $2 rows that nothing
	// needs any more at $1 (expired challenges, forgotten counters, whole
	// budgets), one per table, for the steps the shared code runs itself
	// (the general IssueChallenge and CheckCode).
	Purge []string
	// ClearCounters holds the statements that forget a phone's counters
	// ($1 tenant, $2 phone), run by Reset's general transaction and
	// ClearCounters.
	ClearCounters []string
	// Forgotten holds the statements that delete every challenge and
	// counter row that nothing needs any more at $1, for DeleteExpired.
	Forgotten []string
	// LockMigrations serialises concurrent Migrate calls inside the
	// migration transaction ("" when the database's write lock does).
	LockMigrations string
	// Migrations holds the dialect's NNNN_name.sql files at its root.
	Migrations fs.FS
}

// Store is a store.Store over a DB. It implements store.Store,
// store.CodeIssuer, store.Resetter and store.Outbox; the adapters wrap it.
type Store struct {
	DB      DB
	Dialect Dialect
	Host    *HostUsers
	hostErr error // CheckHost(Host), found by New
	Log     *slog.Logger
	Now     func() time.Time

	// Steps, when set, are the adapter's own IssueChallenge, IssueCode,
	// CheckCode and ClearCounters (PostgreSQL's functions), which the
	// Store's then call: the general steps are SQLite's, on its tables.
	Steps Steps

	// AfterConsume, when set (tests only), runs inside Reset once the code
	// has been consumed in the transaction and before the password is
	// updated (in the PostgreSQL single-statement path: after the statement,
	// before the commit). An error from it rolls the reset back.
	AfterConsume func(ctx context.Context, q Querier) error

	// PurgeEvery: every PurgeEvery-th send or code check also deletes up to
	// PurgeLimit rows of each table that nothing needs any more (expired
	// challenges, forgotten counters, whole budgets), in the same step, so
	// the tables stay bounded without the host calling anything. New sets
	// DefaultPurgeEvery; 0 never purges (tests that must see expired rows).
	PurgeEvery uint64
	purges     atomic.Uint64
}

// New returns a Store over db.
func New(db DB, d Dialect, cfg Config) *Store {
	s := &Store{DB: db, Dialect: d, Host: cfg.HostUsers, Log: cfg.Logger, Now: cfg.Now,
		PurgeEvery: DefaultPurgeEvery}
	s.hostErr = CheckHost(cfg.HostUsers)
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	return s
}

// errf is fmt.Errorf with the dialect's name in front, so a host's log
// says which adapter failed.
func (s *Store) errf(format string, args ...any) error {
	return fmt.Errorf(s.Dialect.Name+": "+format, args...)
}

// ValidProfile returns p as JSON text, "{}" when empty, or an error when it
// is not valid JSON.
func (s *Store) ValidProfile(p json.RawMessage) (string, error) {
	if len(p) == 0 {
		return "{}", nil
	}
	if !json.Valid(p) {
		return "", s.errf("profile is not valid JSON")
	}
	return string(p), nil
}

// --- users ---

// AddUser inserts a user, or replaces the one with the same tenant and
// phone. With HostUsers it runs HostUsers.AddUser, and fails when that is
// empty. It implements storetest.UserSeeder.
func (s *Store) AddUser(ctx context.Context, u store.User) error {
	profile, err := s.ValidProfile(u.Profile)
	if err != nil {
		return err
	}
	if s.Host != nil {
		if s.hostErr != nil {
			return s.errf("add user: %w", s.hostErr)
		}
		if s.Host.AddUser == "" {
			return s.errf("HostUsers.AddUser is not set")
		}
		_, err := s.DB.Exec(ctx, s.Host.AddUser, s.Dialect.Named(map[string]any{
			"tenant_id": u.TenantID, "user_id": u.ID, "phone": u.Phone,
			"password_hash": u.PasswordHash, "profile": profile,
		})...)
		if err != nil {
			return s.errf("add host user: %w", err)
		}
		return nil
	}
	_, err = s.DB.Exec(ctx, `INSERT INTO otpreset_users (tenant_id, id, phone, password_hash, profile)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (tenant_id, phone) DO UPDATE SET id = excluded.id,
			password_hash = excluded.password_hash, profile = excluded.profile`,
		u.TenantID, u.ID, u.Phone, u.PasswordHash, profile)
	if err != nil {
		return s.errf("add user: %w", err)
	}
	return nil
}

// UserByPhone implements store.Users.
func (s *Store) UserByPhone(ctx context.Context, tenantID, phone string) (store.User, error) {
	return s.userByPhone(ctx, s.DB, tenantID, phone)
}

func (s *Store) userByPhone(ctx context.Context, q Querier, tenantID, phone string) (store.User, error) {
	var row Row
	if s.Host != nil {
		if s.hostErr != nil {
			return store.User{}, s.errf("user by phone: %w", s.hostErr)
		}
		row = q.QueryRow(ctx, s.Host.UserByPhone, s.Dialect.Named(map[string]any{
			"tenant_id": tenantID, "phone": phone,
		})...)
	} else {
		row = q.QueryRow(ctx, `SELECT id, password_hash, profile FROM otpreset_users
			WHERE tenant_id = $1 AND phone = $2`, tenantID, phone)
	}
	u := store.User{TenantID: tenantID, Phone: phone}
	var profile string
	err := row.Scan(TextScan{&u.ID}, TextScan{&u.PasswordHash}, TextScan{&profile})
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, s.errf("user %w", store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, s.errf("user by phone: %w", err)
	}
	return ScanUser(tenantID, phone, u.ID, u.PasswordHash, profile), nil
}

// UpdatePassword implements store.Users. A nil Profile keeps the stored one.
// With HostUsers the update runs in a transaction of its own, so that one
// that changes more than one row is rolled back (see TooManyRows).
func (s *Store) UpdatePassword(ctx context.Context, c store.PasswordChange) error {
	if s.Host == nil {
		return s.updatePassword(ctx, s.DB, c) // (tenant_id, id) is the key: one row at most
	}
	return s.DB.InTx(ctx, func(q Querier) error { return s.updatePassword(ctx, q, c) })
}

// TooManyRows is the error of a host UpdatePassword that changed n rows, more
// than the one it must: the transaction it ran in is rolled back, and the
// reset fails as a fault of the store. A query keyed too loosely (WHERE id
// <= @user_id, or by a prefix of the id) would otherwise have written one
// user's new password into other users' rows.
func TooManyRows(n int64) error {
	return fmt.Errorf("HostUsers.UpdatePassword changed %d rows, not one: rolled back (is the user's row keyed by @user_id alone?)", n)
}

func (s *Store) updatePassword(ctx context.Context, q Querier, c store.PasswordChange) error {
	var profile any
	if c.Profile != nil {
		p, err := s.ValidProfile(c.Profile)
		if err != nil {
			return err
		}
		profile = p
	}
	var n int64
	var err error
	if s.Host != nil {
		if s.hostErr != nil {
			return s.errf("update password: %w", s.hostErr)
		}
		if profile == nil {
			return s.errf("HostUsers needs the whole profile in a password change")
		}
		n, err = q.Exec(ctx, s.Host.UpdatePassword, s.Dialect.Named(map[string]any{
			"tenant_id": c.TenantID, "user_id": c.UserID, "password_hash": c.PasswordHash,
			"profile": profile, "changed_at": c.ChangedAt,
		})...)
	} else {
		n, err = q.Exec(ctx, `UPDATE otpreset_users
			SET password_hash = $3, profile = COALESCE($4, profile), password_changed_at = $5
			WHERE tenant_id = $1 AND id = $2`,
			c.TenantID, c.UserID, c.PasswordHash, profile, s.Dialect.Time(c.ChangedAt))
	}
	if err != nil {
		return s.errf("update password: %w", err)
	}
	if n == 0 {
		return s.errf("user %w", store.ErrNotFound)
	}
	if n > 1 {
		return s.errf("update password: %w", TooManyRows(n))
	}
	return nil
}

// --- challenges ---

// ConsumeChallenge implements store.Challenges.
func (s *Store) ConsumeChallenge(ctx context.Context, check store.CodeCheck) error {
	return s.check(ctx, s.DB, check, true)
}

// The statements an adapter may also send itself (batched, say), with $n
// parameters in the order of their Go callers.
const (
	// ConsumeSQL spends a right, usable code: $1 tenant, $2 phone, $3 now,
	// $4 code hash. It returns a row when it did.
	ConsumeSQL = `UPDATE otpreset_challenges SET used_at = $3
		WHERE tenant_id = $1 AND phone = $2 AND code_hash = $4 AND ` + Usable + ` RETURNING 1`
	// CreateSessionSQL: $1 tenant, $2 id, $3 user, $4 access hash, $5
	// refresh hash, $6 created, $7 expires.
	CreateSessionSQL = `INSERT INTO otpreset_sessions
		(tenant_id, id, user_id, access_token_hash, refresh_token_hash, created_at, expires_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7)`
	// RevokeSessionsSQL: $1 tenant, $2 user.
	RevokeSessionsSQL = `DELETE FROM otpreset_sessions WHERE tenant_id = $1 AND user_id = $2`
	// InsertOutboxSQL: $1 id, $2 tenant, $3 payload (JSON text), $4 created.
	InsertOutboxSQL = `INSERT INTO otpreset_outbox (id, tenant_id, payload, created_at) VALUES ($1, $2, $3, $4)`
)

// Usable is the condition under which a challenge row can still be used.
const Usable = `used_at IS NULL AND expires_at > $3 AND attempts < max_attempts`

// check decides a code in at most three statements, each atomic on its own,
// so it is correct both inside a transaction and in autocommit mode:
//
//  1. the right code on a usable challenge: consume it (a conditional UPDATE,
//     which row-locks on PostgreSQL, so of concurrent consumers only the first
//     matches) or, to verify, just see it;
//  2. else a wrong code on a usable challenge: count the try, conditionally,
//     so concurrent wrong tries never count past max_attempts;
//  3. else read why the challenge is not usable (a used one answers "used"
//     only to its own code; see UsedVerdict).
//
// The codes compared are keyed hashes (HMAC under a server secret), so the
// database's byte comparison reveals nothing an attacker could steer. If the
// challenge changes between the steps (replaced by a new code), it retries.
func (s *Store) check(ctx context.Context, q Querier, c store.CodeCheck, consume bool) error {
	now := s.Dialect.Time(c.Now)
	for range 3 {
		var matched bool
		var err error
		if consume {
			matched, err = exists(q.QueryRow(ctx, ConsumeSQL, c.TenantID, c.Phone, now, c.CodeHash))
		} else {
			matched, err = exists(q.QueryRow(ctx, `SELECT 1 FROM otpreset_challenges
				WHERE tenant_id = $1 AND phone = $2 AND code_hash = $4 AND `+Usable,
				c.TenantID, c.Phone, now, c.CodeHash))
		}
		if err != nil {
			return s.errf("check code: %w", err)
		}
		if matched {
			return nil
		}
		counted, err := exists(q.QueryRow(ctx, `UPDATE otpreset_challenges SET attempts = attempts + 1
			WHERE tenant_id = $1 AND phone = $2 AND code_hash <> $4 AND `+Usable+` RETURNING 1`,
			c.TenantID, c.Phone, now, c.CodeHash))
		if err != nil {
			return s.errf("count wrong code: %w", err)
		}
		if counted {
			return s.errf("%w", store.ErrCodeMismatch)
		}
		var right, used, expired, tooMany bool
		err = q.QueryRow(ctx, `SELECT code_hash = $4, used_at IS NOT NULL, expires_at <= $3, attempts >= max_attempts
			FROM otpreset_challenges WHERE tenant_id = $1 AND phone = $2 AND code_hash IS NOT NULL`,
			c.TenantID, c.Phone, now, c.CodeHash).Scan(&right, &used, &expired, &tooMany)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return s.errf("%w", store.ErrNoChallenge)
		case err != nil:
			return s.errf("read challenge: %w", err)
		case used:
			return s.errf("%w", UsedVerdict(right))
		case expired:
			return s.errf("%w", store.ErrChallengeExpired)
		case tooMany:
			return s.errf("%w", store.ErrTooManyAttempts)
		}
		// Usable again: a new code replaced the one seen in steps 1-2.
	}
	return s.errf("challenge kept changing during the check")
}

// UsedVerdict is the answer about a used challenge: "used" only to the code
// that was used (a request that lost the race to a concurrent success, which
// otpreset does not count as a guess); any other code is simply wrong, so
// guessing against a used code tells nothing and is counted like any guess.
func UsedVerdict(rightCode bool) error {
	if rightCode {
		return store.ErrChallengeUsed
	}
	return store.ErrCodeMismatch
}

// exists reports whether row has a row, and discards it.
func exists(row Row) (bool, error) {
	var one int
	err := row.Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// IsVerdict reports whether err is the store's answer about a code, as
// opposed to a fault.
func IsVerdict(err error) bool {
	for _, v := range []error{store.ErrNoChallenge, store.ErrChallengeExpired, store.ErrChallengeUsed,
		store.ErrCodeMismatch, store.ErrTooManyAttempts} {
		if errors.Is(err, v) {
			return true
		}
	}
	return false
}

// --- sessions ---

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	return s.createSession(ctx, s.DB, sess)
}

func (s *Store) createSession(ctx context.Context, q Querier, sess store.Session) error {
	_, err := q.Exec(ctx, CreateSessionSQL,
		sess.TenantID, sess.ID, sess.UserID, sess.AccessTokenHash, sess.RefreshTokenHash,
		s.Dialect.Time(sess.CreatedAt), s.Dialect.Time(sess.ExpiresAt))
	if err != nil {
		return s.errf("create session: %w", err)
	}
	return nil
}

// LookupSession finds a live session by the hash of its access token (for
// hosts that accept the access_token a reset issued; otpreset never calls
// it), or returns an error wrapping store.ErrNotFound.
func (s *Store) LookupSession(ctx context.Context, tenantID string, accessTokenHash []byte, now time.Time) (store.Session, error) {
	sess := store.Session{TenantID: tenantID}
	err := s.DB.QueryRow(ctx, `SELECT id, user_id, access_token_hash, refresh_token_hash, created_at, expires_at
		FROM otpreset_sessions WHERE tenant_id = $1 AND access_token_hash = $2 AND expires_at > $3`,
		tenantID, accessTokenHash, s.Dialect.Time(now)).
		Scan(&sess.ID, &sess.UserID, &sess.AccessTokenHash, &sess.RefreshTokenHash,
			TimeScan{&sess.CreatedAt}, TimeScan{&sess.ExpiresAt})
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, s.errf("session %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, s.errf("lookup session: %w", err)
	}
	return sess, nil
}

// RevokeSessions implements store.Sessions.
func (s *Store) RevokeSessions(ctx context.Context, tenantID, userID string) (int, error) {
	return s.revokeSessions(ctx, s.DB, tenantID, userID)
}

func (s *Store) revokeSessions(ctx context.Context, q Querier, tenantID, userID string) (int, error) {
	n, err := q.Exec(ctx, RevokeSessionsSQL, tenantID, userID)
	if err != nil {
		return 0, s.errf("revoke sessions: %w", err)
	}
	return int(n), nil
}

// --- reset ---

// Reset implements store.Resetter: in one transaction it consumes the code,
// replaces the password and profile, revokes the user's sessions, creates
// the new session, writes the outbox and clears the phone's counters. A
// wrong code is counted against the code's tries and committed, and the
// error wraps store.ErrCodeMismatch; any other failure rolls everything
// back, so the code stays usable.
//
// On PostgreSQL a successful reset takes one round trip with otpreset_users
// and two with HostUsers; see store/postgres/README.md.
func (s *Store) Reset(ctx context.Context, r store.Reset) error {
	if s.Dialect.ResetFast != nil {
		ok, err := s.Dialect.ResetFast(ctx, s, r)
		if ok || err != nil {
			return err
		}
		// The code was not consumed: the general path below counts the try
		// and tells why (or, if a new code arrived meanwhile, applies it).
	}
	var verdict error
	err := s.DB.InTx(ctx, func(q Querier) error {
		if s.Dialect.LockPhone != "" {
			if _, err := q.Exec(ctx, s.Dialect.LockPhone, r.Check.TenantID, r.Check.Phone); err != nil {
				return err
			}
		}
		if err := s.check(ctx, q, r.Check, true); err != nil {
			if IsVerdict(err) {
				verdict = err // commit the counted try; nothing else changed
				return nil
			}
			return err
		}
		if s.AfterConsume != nil {
			if err := s.AfterConsume(ctx, q); err != nil {
				return err
			}
		}
		if err := s.updatePassword(ctx, q, r.Change); err != nil {
			return err
		}
		if _, err := s.revokeSessions(ctx, q, r.Change.TenantID, r.Change.UserID); err != nil {
			return err
		}
		if r.NewSession != nil {
			if err := s.createSession(ctx, q, *r.NewSession); err != nil {
				return err
			}
		}
		for _, m := range r.Outbox {
			if err := s.insertOutbox(ctx, q, m); err != nil {
				return err
			}
		}
		return s.clearCounters(ctx, q, r.Check.TenantID, r.Check.Phone)
	})
	if err != nil {
		return s.errf("reset: %w", err)
	}
	return verdict
}

// --- outbox ---

func (s *Store) insertOutbox(ctx context.Context, q Querier, m store.OutboxMessage) error {
	if !json.Valid(m.Payload) {
		return s.errf("outbox payload is not valid JSON")
	}
	_, err := q.Exec(ctx, InsertOutboxSQL,
		m.ID, m.TenantID, string(m.Payload), s.Dialect.Time(m.CreatedAt))
	if err != nil {
		return s.errf("write outbox: %w", err)
	}
	return nil
}

// PendingOutbox implements store.Outbox: up to limit undelivered messages,
// oldest first (by CreatedAt, then by the order they were written).
func (s *Store) PendingOutbox(ctx context.Context, limit int) ([]store.OutboxMessage, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.DB.Query(ctx, `SELECT id, tenant_id, payload, created_at FROM otpreset_outbox
		WHERE delivered_at IS NULL ORDER BY created_at, seq LIMIT $1`, limit)
	if err != nil {
		return nil, s.errf("pending outbox: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxMessage
	for rows.Next() {
		var m store.OutboxMessage
		var payload string
		if err := rows.Scan(&m.ID, &m.TenantID, TextScan{&payload}, TimeScan{&m.CreatedAt}); err != nil {
			return nil, s.errf("pending outbox: %w", err)
		}
		m.Payload = json.RawMessage(payload)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("pending outbox: %w", err)
	}
	return out, nil
}

// MarkDelivered implements store.Outbox. Marking a message twice is not an
// error; an unknown id wraps store.ErrNotFound.
func (s *Store) MarkDelivered(ctx context.Context, id string) error {
	n, err := s.DB.Exec(ctx, `UPDATE otpreset_outbox SET delivered_at = COALESCE(delivered_at, $2) WHERE id = $1`,
		id, s.Dialect.Time(s.Now()))
	if err != nil {
		return s.errf("mark delivered: %w", err)
	}
	if n == 0 {
		return s.errf("outbox message %w", store.ErrNotFound)
	}
	return nil
}

// DeleteExpired removes challenges expired by now, sessions that expired
// before now, outbox messages delivered before now, the counters of client
// networks forgotten by now and the budgets whole again by now, and reports
// how many rows went. Sends and code checks purge the same rows (but
// sessions and the outbox) a few at a time on their own (PurgeEvery); a
// host may still run it, from a ticker, to delete everything at once.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	t := s.Dialect.Time(now)
	for _, q := range append([]string{
		`DELETE FROM otpreset_sessions WHERE expires_at < $1`,
		`DELETE FROM otpreset_outbox WHERE delivered_at < $1`,
	}, s.Dialect.Forgotten...) {
		n, err := s.DB.Exec(ctx, q, t)
		if err != nil {
			return total, s.errf("delete expired: %w", err)
		}
		total += n
	}
	return total, nil
}

// ScanUser builds the user of tenantID and phone from the three columns
// every user query selects (id, hash, profile) scanned as text. A NULL
// profile (a host table without a profile column) reads as MinimalProfile.
func ScanUser(tenantID, phone, id, hash, profile string) store.User {
	p := json.RawMessage(profile)
	if profile == "" {
		p = MinimalProfile(id, phone)
	}
	return store.User{TenantID: tenantID, ID: id, Phone: phone, PasswordHash: hash, Profile: p}
}

// MinimalProfile is the profile of a user whose table keeps none: what the
// store knows (the id and the phone) and what a LoginRadius client reads as
// an ordinary account (active, the phone verified, which the reset's code
// has just proved; not locked, "None", the value a reset's answer also
// gives), rather than "ID":"" and "IsActive":false, which a client may take
// for a deactivated account.
func MinimalProfile(id, phone string) json.RawMessage {
	b, err := json.Marshal(struct {
		Uid             string `json:"Uid"`
		ID              string `json:"ID"`
		PhoneId         string `json:"PhoneId"`
		PhoneIdVerified bool   `json:"PhoneIdVerified"`
		IsActive        bool   `json:"IsActive"`
		LoginLockedType string `json:"LoginLockedType"`
	}{id, id, phone, true, true, "None"})
	if err != nil {
		panic(err) // strings and booleans always encode
	}
	return b
}

// Errf is the store's error constructor, for the adapters' own methods.
func (s *Store) Errf(format string, args ...any) error { return s.errf(format, args...) }
