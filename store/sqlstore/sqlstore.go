package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/otpreset/go/store"
)

// Config configures a Store. The zero value is valid: users live in
// otpreset_users, logs go to slog.Default, and time is the real clock.
type Config struct {
	// HostUsers, when set, reads and updates users in the host's own table
	// with the host's own queries, instead of otpreset_users. Challenges,
	// sessions and the outbox stay in otpreset's tables.
	HostUsers *HostUsers
	// Logger receives the store's few log lines (migrations applied, failed
	// rollbacks). Nil means slog.Default(). No code, hash or full phone
	// number is ever logged.
	Logger *slog.Logger
	// Now is the clock for the times the store sets itself (delivered_at,
	// applied_at). Nil means time.Now. Expiry is never decided by it: the
	// caller's CodeCheck.Now and the now of LookupSession decide.
	Now func() time.Time
}

// HostUsers adapts a host's existing users table. Each field is one SQL
// statement in the host's dialect, written with named parameters (@name,
// which pgx and SQLite both accept); a query may leave out parameters it has
// no use for (a single-tenant host ignores @tenant_id). Inside Reset the
// statements run in the same transaction as the code's consumption, so a
// failure anywhere rolls the whole reset back.
type HostUsers struct {
	// UserByPhone selects at most one row of three columns: the user's ID
	// (text, integer or UUID), the password hash (text) and the profile (JSON
	// object as json, jsonb or text; NULL reads as {}).
	// Parameters: @tenant_id, @phone.
	UserByPhone string
	// UpdatePassword updates the user's password hash and profile. It must
	// affect exactly one row; none means store.ErrNotFound.
	// Parameters: @tenant_id, @user_id, @password_hash, @profile (JSON text),
	// @changed_at (time.Time).
	UpdatePassword string
	// AddUser, optional, inserts or replaces a user; only Store.AddUser (and so
	// the conformance suite) uses it. Parameters: @tenant_id, @user_id,
	// @phone, @password_hash, @profile (JSON text).
	AddUser string
}

// Store is a store.Store over PostgreSQL or SQLite. It implements
// store.Store, store.Resetter, store.Outbox and storetest.UserSeeder. Create
// it with OpenPostgres, NewPostgres or OpenSQLite, call Migrate once, and
// Close it when done. It is safe for concurrent use.
type Store struct {
	db      database
	dialect dialect
	host    *HostUsers
	log     *slog.Logger
	now     func() time.Time

	// afterConsume, when set (tests only), runs inside Reset once the code
	// has been consumed in the transaction and before the password is
	// updated (in the PostgreSQL single-statement path: after the statement,
	// before the commit). An error from it rolls the reset back.
	afterConsume func(ctx context.Context, q querier) error
}

// dialect holds what differs between PostgreSQL and SQLite.
type dialect struct {
	name string
	// time converts a time to the column's representation: timestamptz on
	// PostgreSQL, Unix nanoseconds on SQLite.
	time func(time.Time) any
	// named turns named arguments into the driver's form.
	named func(map[string]any) []any
	// resetFast, when set, applies a whole reset on the store's own users
	// table in fewer round trips; it reports ok=false when the code was not
	// consumed, and the general path then classifies and counts the try.
	resetFast func(ctx context.Context, s *Store, r store.Reset) (ok bool, err error)
	// lockMigrations serialises concurrent Migrate calls inside the migration
	// transaction.
	lockMigrations string
}

func newStore(db database, d dialect, cfg Config) *Store {
	s := &Store{db: db, dialect: d, host: cfg.HostUsers, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Close releases the connections the store opened. A pool passed to
// NewPostgres is left open for its owner.
func (s *Store) Close() { s.db.close() }

// Dialect reports "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect.name }

func validProfile(p json.RawMessage) (string, error) {
	if len(p) == 0 {
		return "{}", nil
	}
	if !json.Valid(p) {
		return "", errors.New("sqlstore: profile is not valid JSON")
	}
	return string(p), nil
}

// --- users ---

// AddUser inserts a user, or replaces the one with the same tenant and
// phone. With HostUsers it runs HostUsers.AddUser, and fails when that is
// empty. It implements storetest.UserSeeder.
func (s *Store) AddUser(ctx context.Context, u store.User) error {
	profile, err := validProfile(u.Profile)
	if err != nil {
		return err
	}
	if s.host != nil {
		if s.host.AddUser == "" {
			return errors.New("sqlstore: HostUsers.AddUser is not set")
		}
		_, err := s.db.exec(ctx, s.host.AddUser, s.dialect.named(map[string]any{
			"tenant_id": u.TenantID, "user_id": u.ID, "phone": u.Phone,
			"password_hash": u.PasswordHash, "profile": profile,
		})...)
		if err != nil {
			return fmt.Errorf("sqlstore: add host user: %w", err)
		}
		return nil
	}
	_, err = s.db.exec(ctx, `INSERT INTO otpreset_users (tenant_id, id, phone, password_hash, profile)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (tenant_id, phone) DO UPDATE SET id = excluded.id,
			password_hash = excluded.password_hash, profile = excluded.profile`,
		u.TenantID, u.ID, u.Phone, u.PasswordHash, profile)
	if err != nil {
		return fmt.Errorf("sqlstore: add user: %w", err)
	}
	return nil
}

// UserByPhone implements store.Users.
func (s *Store) UserByPhone(ctx context.Context, tenantID, phone string) (store.User, error) {
	var row rowScanner
	if s.host != nil {
		row = s.db.queryRow(ctx, s.host.UserByPhone, s.dialect.named(map[string]any{
			"tenant_id": tenantID, "phone": phone,
		})...)
	} else {
		row = s.db.queryRow(ctx, `SELECT id, password_hash, profile FROM otpreset_users
			WHERE tenant_id = $1 AND phone = $2`, tenantID, phone)
	}
	u := store.User{TenantID: tenantID, Phone: phone}
	var profile string
	err := row.Scan(textScan{&u.ID}, textScan{&u.PasswordHash}, textScan{&profile})
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, fmt.Errorf("sqlstore: user %w", store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("sqlstore: user by phone: %w", err)
	}
	if profile == "" {
		profile = "{}"
	}
	u.Profile = json.RawMessage(profile)
	return u, nil
}

// UpdatePassword implements store.Users. A nil Profile keeps the stored one.
func (s *Store) UpdatePassword(ctx context.Context, c store.PasswordChange) error {
	return s.updatePassword(ctx, s.db, c)
}

func (s *Store) updatePassword(ctx context.Context, q querier, c store.PasswordChange) error {
	var profile any
	if c.Profile != nil {
		p, err := validProfile(c.Profile)
		if err != nil {
			return err
		}
		profile = p
	}
	var n int64
	var err error
	if s.host != nil {
		if profile == nil {
			return errors.New("sqlstore: HostUsers needs the whole profile in a password change")
		}
		n, err = q.exec(ctx, s.host.UpdatePassword, s.dialect.named(map[string]any{
			"tenant_id": c.TenantID, "user_id": c.UserID, "password_hash": c.PasswordHash,
			"profile": profile, "changed_at": c.ChangedAt,
		})...)
	} else {
		n, err = q.exec(ctx, `UPDATE otpreset_users
			SET password_hash = $3, profile = COALESCE($4, profile), password_changed_at = $5
			WHERE tenant_id = $1 AND id = $2`,
			c.TenantID, c.UserID, c.PasswordHash, profile, s.dialect.time(c.ChangedAt))
	}
	if err != nil {
		return fmt.Errorf("sqlstore: update password: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: user %w", store.ErrNotFound)
	}
	return nil
}

// --- challenges ---

// SaveChallenge implements store.Challenges.
func (s *Store) SaveChallenge(ctx context.Context, c store.Challenge) error {
	_, err := s.db.exec(ctx, `INSERT INTO otpreset_challenges
			(tenant_id, phone, code_hash, created_at, expires_at, max_attempts, attempts, used_at)
		VALUES ($1, $2, $3, $4, $5, $6, 0, NULL)
		ON CONFLICT (tenant_id, phone) DO UPDATE SET code_hash = excluded.code_hash,
			created_at = excluded.created_at, expires_at = excluded.expires_at,
			max_attempts = excluded.max_attempts, attempts = 0, used_at = NULL`,
		c.TenantID, c.Phone, c.CodeHash, s.dialect.time(c.CreatedAt), s.dialect.time(c.ExpiresAt), c.MaxAttempts)
	if err != nil {
		return fmt.Errorf("sqlstore: save challenge: %w", err)
	}
	return nil
}

// VerifyChallenge implements store.Challenges.
func (s *Store) VerifyChallenge(ctx context.Context, check store.CodeCheck) error {
	return s.check(ctx, s.db, check, false)
}

// ConsumeChallenge implements store.Challenges.
func (s *Store) ConsumeChallenge(ctx context.Context, check store.CodeCheck) error {
	return s.check(ctx, s.db, check, true)
}

// usable is the condition under which a challenge row can still be used.
const usable = `used_at IS NULL AND expires_at > $3 AND attempts < max_attempts`

// check decides a code in at most three statements, each atomic on its own,
// so it is correct both inside a transaction and in autocommit mode:
//
//  1. the right code on a usable challenge: consume it (a conditional UPDATE,
//     which row-locks on PostgreSQL, so of concurrent consumers only the first
//     matches) or, to verify, just see it;
//  2. else a wrong code on a usable challenge: count the try, conditionally,
//     so concurrent wrong tries never count past max_attempts;
//  3. else read why the challenge is not usable.
//
// The codes compared are keyed hashes (HMAC under a server secret), so the
// database's byte comparison reveals nothing an attacker could steer. If the
// challenge changes between the steps (replaced by a new code), it retries.
func (s *Store) check(ctx context.Context, q querier, c store.CodeCheck, consume bool) error {
	now := s.dialect.time(c.Now)
	for range 3 {
		var matched bool
		var err error
		if consume {
			matched, err = exists(q.queryRow(ctx, `UPDATE otpreset_challenges SET used_at = $3
				WHERE tenant_id = $1 AND phone = $2 AND code_hash = $4 AND `+usable+` RETURNING 1`,
				c.TenantID, c.Phone, now, c.CodeHash))
		} else {
			matched, err = exists(q.queryRow(ctx, `SELECT 1 FROM otpreset_challenges
				WHERE tenant_id = $1 AND phone = $2 AND code_hash = $4 AND `+usable,
				c.TenantID, c.Phone, now, c.CodeHash))
		}
		if err != nil {
			return fmt.Errorf("sqlstore: check code: %w", err)
		}
		if matched {
			return nil
		}
		counted, err := exists(q.queryRow(ctx, `UPDATE otpreset_challenges SET attempts = attempts + 1
			WHERE tenant_id = $1 AND phone = $2 AND code_hash <> $4 AND `+usable+` RETURNING 1`,
			c.TenantID, c.Phone, now, c.CodeHash))
		if err != nil {
			return fmt.Errorf("sqlstore: count wrong code: %w", err)
		}
		if counted {
			return fmt.Errorf("sqlstore: %w", store.ErrCodeMismatch)
		}
		var used, expired, tooMany bool
		err = q.queryRow(ctx, `SELECT used_at IS NOT NULL, expires_at <= $3, attempts >= max_attempts
			FROM otpreset_challenges WHERE tenant_id = $1 AND phone = $2`,
			c.TenantID, c.Phone, now).Scan(&used, &expired, &tooMany)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlstore: %w", store.ErrNoChallenge)
		case err != nil:
			return fmt.Errorf("sqlstore: read challenge: %w", err)
		case used:
			return fmt.Errorf("sqlstore: %w", store.ErrChallengeUsed)
		case expired:
			return fmt.Errorf("sqlstore: %w", store.ErrChallengeExpired)
		case tooMany:
			return fmt.Errorf("sqlstore: %w", store.ErrTooManyAttempts)
		}
		// Usable again: a new code replaced the one seen in steps 1-2.
	}
	return errors.New("sqlstore: challenge kept changing during the check")
}

// exists reports whether row has a row, and discards it.
func exists(row rowScanner) (bool, error) {
	var one int
	err := row.Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// isVerdict reports whether err is the store's answer about a code, as
// opposed to a fault.
func isVerdict(err error) bool {
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
	return s.createSession(ctx, s.db, sess)
}

func (s *Store) createSession(ctx context.Context, q querier, sess store.Session) error {
	_, err := q.exec(ctx, `INSERT INTO otpreset_sessions
			(tenant_id, id, user_id, access_token_hash, refresh_token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		sess.TenantID, sess.ID, sess.UserID, sess.AccessTokenHash, sess.RefreshTokenHash,
		s.dialect.time(sess.CreatedAt), s.dialect.time(sess.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create session: %w", err)
	}
	return nil
}

// LookupSession implements store.Sessions.
func (s *Store) LookupSession(ctx context.Context, tenantID string, accessTokenHash []byte, now time.Time) (store.Session, error) {
	sess := store.Session{TenantID: tenantID}
	err := s.db.queryRow(ctx, `SELECT id, user_id, access_token_hash, refresh_token_hash, created_at, expires_at
		FROM otpreset_sessions WHERE tenant_id = $1 AND access_token_hash = $2 AND expires_at > $3`,
		tenantID, accessTokenHash, s.dialect.time(now)).
		Scan(&sess.ID, &sess.UserID, &sess.AccessTokenHash, &sess.RefreshTokenHash,
			timeScan{&sess.CreatedAt}, timeScan{&sess.ExpiresAt})
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, fmt.Errorf("sqlstore: session %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("sqlstore: lookup session: %w", err)
	}
	return sess, nil
}

// RevokeSessions implements store.Sessions.
func (s *Store) RevokeSessions(ctx context.Context, tenantID, userID string) (int, error) {
	return s.revokeSessions(ctx, s.db, tenantID, userID)
}

func (s *Store) revokeSessions(ctx context.Context, q querier, tenantID, userID string) (int, error) {
	n, err := q.exec(ctx, `DELETE FROM otpreset_sessions WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke sessions: %w", err)
	}
	return int(n), nil
}

// --- reset ---

// Reset implements store.Resetter: in one transaction it consumes the code,
// replaces the password and profile, revokes the user's sessions, creates
// the new session and writes the outbox. A wrong code is counted and
// committed, and the error wraps store.ErrCodeMismatch; any other failure
// rolls everything back, so the code stays usable.
//
// On PostgreSQL with otpreset_users a successful reset takes three round
// trips (BEGIN, one statement, COMMIT); see README.md.
func (s *Store) Reset(ctx context.Context, r store.Reset) error {
	if s.host == nil && s.dialect.resetFast != nil {
		ok, err := s.dialect.resetFast(ctx, s, r)
		if ok || err != nil {
			return err
		}
		// The code was not consumed: the general path below counts the try
		// and tells why (or, if a new code arrived meanwhile, applies it).
	}
	var verdict error
	err := s.db.inTx(ctx, func(q querier) error {
		if err := s.check(ctx, q, r.Check, true); err != nil {
			if isVerdict(err) {
				verdict = err // commit the counted try; nothing else changed
				return nil
			}
			return err
		}
		if s.afterConsume != nil {
			if err := s.afterConsume(ctx, q); err != nil {
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
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: reset: %w", err)
	}
	return verdict
}

// --- outbox ---

func (s *Store) insertOutbox(ctx context.Context, q querier, m store.OutboxMessage) error {
	if !json.Valid(m.Payload) {
		return errors.New("sqlstore: outbox payload is not valid JSON")
	}
	_, err := q.exec(ctx, `INSERT INTO otpreset_outbox (id, tenant_id, payload, created_at) VALUES ($1, $2, $3, $4)`,
		m.ID, m.TenantID, string(m.Payload), s.dialect.time(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: write outbox: %w", err)
	}
	return nil
}

// PendingOutbox implements store.Outbox: up to limit undelivered messages,
// oldest first (by CreatedAt, then by the order they were written).
func (s *Store) PendingOutbox(ctx context.Context, limit int) ([]store.OutboxMessage, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.db.query(ctx, `SELECT id, tenant_id, payload, created_at FROM otpreset_outbox
		WHERE delivered_at IS NULL ORDER BY created_at, seq LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pending outbox: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxMessage
	for rows.Next() {
		var m store.OutboxMessage
		var payload string
		if err := rows.Scan(&m.ID, &m.TenantID, textScan{&payload}, timeScan{&m.CreatedAt}); err != nil {
			return nil, fmt.Errorf("sqlstore: pending outbox: %w", err)
		}
		m.Payload = json.RawMessage(payload)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: pending outbox: %w", err)
	}
	return out, nil
}

// MarkDelivered implements store.Outbox. Marking a message twice is not an
// error; an unknown id wraps store.ErrNotFound.
func (s *Store) MarkDelivered(ctx context.Context, id string) error {
	n, err := s.db.exec(ctx, `UPDATE otpreset_outbox SET delivered_at = COALESCE(delivered_at, $2) WHERE id = $1`,
		id, s.dialect.time(s.now()))
	if err != nil {
		return fmt.Errorf("sqlstore: mark delivered: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: outbox message %w", store.ErrNotFound)
	}
	return nil
}

// DeleteExpired removes challenges and sessions that expired before now and
// outbox messages delivered before now, and reports how many rows went. Run
// it periodically; nothing else depends on it.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	t := s.dialect.time(now)
	for _, q := range []string{
		`DELETE FROM otpreset_challenges WHERE expires_at < $1`,
		`DELETE FROM otpreset_sessions WHERE expires_at < $1`,
		`DELETE FROM otpreset_outbox WHERE delivered_at < $1`,
	} {
		n, err := s.db.exec(ctx, q, t)
		if err != nil {
			return total, fmt.Errorf("sqlstore: delete expired: %w", err)
		}
		total += n
	}
	return total, nil
}
