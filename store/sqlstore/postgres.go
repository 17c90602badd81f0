package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpreset/go/store"
)

// OpenPostgres connects to PostgreSQL at url (a pgx connection string such
// as postgres://user:pass@host:5432/db?sslmode=verify-full; pgxpool settings
// like pool_max_conns go in it too) and returns a Store that owns the pool.
// It does not change the schema: call Migrate.
func OpenPostgres(ctx context.Context, url string, cfg Config) (*Store, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	return newStore(newPgDB(pool, true), postgres, cfg), nil
}

// NewPostgres returns a Store over the host's pool, which stays the host's
// to close. It does not change the schema: call Migrate.
func NewPostgres(pool *pgxpool.Pool, cfg Config) *Store {
	return newStore(newPgDB(pool, false), postgres, cfg)
}

var postgres = dialect{
	name:           "postgres",
	time:           func(t time.Time) any { return t },
	named:          func(m map[string]any) []any { return []any{pgx.NamedArgs(m)} },
	resetFast:      pgResetFast,
	lockMigrations: `SELECT pg_advisory_xact_lock(7263540191)`, // any constant key; "otpreset" on a phone pad
}

// pgResetSQL applies a whole reset in one statement. Every data-modifying
// CTE depends, through EXISTS, on the consumption of the code, so when the
// code does not match nothing else changes; and the consumption is a
// conditional UPDATE that row-locks the challenge, so of concurrent resets
// only the first one matches. The new session is invisible to the DELETE
// (all CTEs see one snapshot), so it is not revoked with the old ones.
const pgResetSQL = `WITH consumed AS (
	UPDATE otpreset_challenges SET used_at = $3
	WHERE tenant_id = $1 AND phone = $2 AND code_hash = $4 AND ` + usable + `
	RETURNING 1
), changed AS (
	UPDATE otpreset_users
	SET password_hash = $6, profile = COALESCE($7::jsonb, profile), password_changed_at = $8
	WHERE tenant_id = $21 AND id = $5 AND EXISTS (SELECT 1 FROM consumed)
	RETURNING 1
), revoked AS (
	DELETE FROM otpreset_sessions
	WHERE tenant_id = $21 AND user_id = $5 AND EXISTS (SELECT 1 FROM changed)
	RETURNING 1
), created AS (
	INSERT INTO otpreset_sessions
		(tenant_id, id, user_id, access_token_hash, refresh_token_hash, created_at, expires_at)
	SELECT $10::text, $11::text, $12::text, $13::bytea, $14::bytea, $15::timestamptz, $16::timestamptz
	WHERE $9::boolean AND EXISTS (SELECT 1 FROM changed)
	RETURNING 1
), outbox AS (
	INSERT INTO otpreset_outbox (id, tenant_id, payload, created_at)
	SELECT o.id, o.tenant_id, o.payload::json, o.created_at
	FROM unnest($17::text[], $18::text[], $19::text[], $20::timestamptz[]) WITH ORDINALITY
		AS o(id, tenant_id, payload, created_at, n)
	WHERE EXISTS (SELECT 1 FROM changed)
	ORDER BY o.n
	RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM consumed), EXISTS (SELECT 1 FROM changed)`

// pgResetFast runs pgResetSQL in a transaction: BEGIN, the statement,
// COMMIT, three round trips. ok=false (and nothing changed) means the code
// was not consumed; the caller's general path then counts or explains it.
func pgResetFast(ctx context.Context, s *Store, r store.Reset) (ok bool, err error) {
	db := s.db.(*pgDB)
	c, ch := r.Check, r.Change
	var profile any
	if ch.Profile != nil {
		p, err := validProfile(ch.Profile)
		if err != nil {
			return false, err
		}
		profile = p
	}
	var sess store.Session
	if r.NewSession != nil {
		sess = *r.NewSession
	}
	n := len(r.Outbox)
	ids, tenants, payloads, created := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for i, m := range r.Outbox {
		if !json.Valid(m.Payload) {
			return false, errors.New("sqlstore: outbox payload is not valid JSON")
		}
		ids[i], tenants[i], payloads[i], created[i] = m.ID, m.TenantID, string(m.Payload), m.CreatedAt
	}

	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var consumed, changed bool
		err := tx.QueryRow(ctx, pgResetSQL,
			c.TenantID, c.Phone, c.Now, c.CodeHash,
			ch.UserID, ch.PasswordHash, profile, ch.ChangedAt,
			r.NewSession != nil, sess.TenantID, sess.ID, sess.UserID, sess.AccessTokenHash, sess.RefreshTokenHash,
			sess.CreatedAt, sess.ExpiresAt,
			ids, tenants, payloads, created, ch.TenantID,
		).Scan(&consumed, &changed)
		switch {
		case err != nil:
			return err
		case !consumed:
			return errNotConsumed // roll back: nothing changed anyway
		case !changed:
			return fmt.Errorf("user %w", store.ErrNotFound) // roll back the consumption
		}
		if s.afterConsume != nil {
			if err := s.afterConsume(ctx, pgQ{tx}); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errNotConsumed):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sqlstore: reset: %w", err)
	}
	return true, nil
}

var errNotConsumed = errors.New("code not consumed")
