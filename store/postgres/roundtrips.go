package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/internal/sqlcore"
)

// checkSQL reads a challenge and counts a wrong try in one statement: c is
// the challenge as the statement's snapshot saw it, counted is the
// conditional UPDATE (row-locked, re-checked against the latest row, so
// concurrent wrong tries never count past max_attempts). Parameters: $1
// tenant, $2 phone, $3 now, $4 code hash.
const checkSQL = `WITH c AS (
	SELECT code_hash = $4 AS right_code, used_at IS NOT NULL AS used, expires_at <= $3 AS expired,
		attempts >= max_attempts AS too_many
	FROM otpreset_challenges WHERE tenant_id = $1 AND phone = $2
), counted AS (
	UPDATE otpreset_challenges SET attempts = attempts + 1
	WHERE tenant_id = $1 AND phone = $2 AND code_hash <> $4 AND ` + sqlcore.Usable + `
	RETURNING 1
)`

// checkColumns are the columns checkSQL's callers select, scanned by
// verdict.scan.
const checkColumns = `EXISTS (SELECT 1 FROM counted), EXISTS (SELECT 1 FROM c),
	COALESCE((SELECT right_code FROM c), false), COALESCE((SELECT used FROM c), false),
	COALESCE((SELECT expired FROM c), false), COALESCE((SELECT too_many FROM c), false)`

// verifyOwnSQL is VerifyUserCode on otpreset_users: the user, the check and
// the count, one statement.
const verifyOwnSQL = checkSQL + `, u AS (
	SELECT id, password_hash, profile::text AS profile FROM otpreset_users WHERE tenant_id = $1 AND phone = $2
)
SELECT EXISTS (SELECT 1 FROM u), (SELECT id FROM u), (SELECT password_hash FROM u), (SELECT profile FROM u),
	` + checkColumns

// verifyOnlySQL is the check alone, batched after a host's user query.
const verifyOnlySQL = checkSQL + `
SELECT ` + checkColumns

// saveFindOwnSQL is SaveChallengeFindUser on otpreset_users: the save is a
// data-modifying CTE, which PostgreSQL runs to completion whether or not
// the query reads it.
const saveFindOwnSQL = `WITH saved AS (` + sqlcore.SaveChallengeSQL + `
	RETURNING 1
)
SELECT id, password_hash, profile::text FROM otpreset_users WHERE tenant_id = $1 AND phone = $2`

// flags is what checkSQL tells about a challenge.
type flags struct{ counted, exists, right, used, expired, tooMany bool }

func (f *flags) dest() []any {
	return []any{&f.counted, &f.exists, &f.right, &f.used, &f.expired, &f.tooMany}
}

// verdict turns flags into the code's answer, in the order the general
// check uses. A wrong code on a challenge the snapshot saw usable but the
// count found not usable (a concurrent try used the attempts up, or a new
// code replaced it) is decided again by the general check: rare, and a few
// round trips more.
func (s *Store) verdict(ctx context.Context, check store.CodeCheck, f flags) (verdict, fault error) {
	switch {
	case f.counted:
		return s.core.Errf("%w", store.ErrCodeMismatch), nil
	case !f.exists:
		return s.core.Errf("%w", store.ErrNoChallenge), nil
	case f.used:
		return s.core.Errf("%w", sqlcore.UsedVerdict(f.right)), nil
	case f.expired:
		return s.core.Errf("%w", store.ErrChallengeExpired), nil
	case f.tooMany:
		return s.core.Errf("%w", store.ErrTooManyAttempts), nil
	case f.right:
		return nil, nil
	}
	return s.core.Verdict(s.core.Check(ctx, check, false))
}

// VerifyUserCode implements store.UserCodeVerifier in one round trip: one
// statement on otpreset_users, or the host's UserByPhone and the check
// pipelined in one batch with HostUsers. A wrong code costs nothing more,
// and no password is hashed before it is refused.
func (s *Store) VerifyUserCode(ctx context.Context, check store.CodeCheck) (store.UserCode, error) {
	var f flags
	var found bool
	var id, hash, profile string
	args := []any{check.TenantID, check.Phone, check.Now, check.CodeHash}
	if s.core.Host == nil {
		dest := append([]any{&found, sqlcore.TextScan{S: &id}, sqlcore.TextScan{S: &hash}, sqlcore.TextScan{S: &profile}}, f.dest()...)
		if err := s.db.pool.QueryRow(ctx, verifyOwnSQL, args...).Scan(dest...); err != nil {
			return store.UserCode{}, s.core.Errf("verify user code: %w", err)
		}
	} else {
		b := &pgx.Batch{}
		b.Queue(s.core.Host.UserByPhone, pgx.NamedArgs{"tenant_id": check.TenantID, "phone": check.Phone})
		b.Queue(verifyOnlySQL, args...)
		err := func() (err error) {
			br := s.db.pool.SendBatch(ctx, b)
			defer func() {
				if cerr := br.Close(); err == nil {
					err = cerr // the first error of a batch is also Close's: keep one
				}
			}()
			err = br.QueryRow().Scan(sqlcore.TextScan{S: &id}, sqlcore.TextScan{S: &hash}, sqlcore.TextScan{S: &profile})
			found = err == nil
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			return br.QueryRow().Scan(f.dest()...)
		}()
		if err != nil {
			return store.UserCode{}, s.core.Errf("verify user code: %w", err)
		}
	}
	verdict, err := s.verdict(ctx, check, f)
	if err != nil {
		return store.UserCode{}, err
	}
	uc := store.UserCode{Found: found, Verdict: verdict}
	if found {
		uc.User = sqlcore.ScanUser(check.TenantID, check.Phone, id, hash, profile)
	}
	return uc, nil
}

// SaveChallengeFindUser implements store.UserChallengeSaver in one round
// trip: one statement on otpreset_users, or the save and the host's
// UserByPhone pipelined in one batch with HostUsers.
func (s *Store) SaveChallengeFindUser(ctx context.Context, c store.Challenge) (store.User, error) {
	var id, hash, profile string
	args := []any{c.TenantID, c.Phone, c.CodeHash, c.CreatedAt, c.ExpiresAt, c.MaxAttempts}
	var err error
	if s.core.Host == nil {
		err = s.db.pool.QueryRow(ctx, saveFindOwnSQL, args...).
			Scan(sqlcore.TextScan{S: &id}, sqlcore.TextScan{S: &hash}, sqlcore.TextScan{S: &profile})
	} else {
		b := &pgx.Batch{}
		b.Queue(sqlcore.SaveChallengeSQL, args...)
		b.Queue(s.core.Host.UserByPhone, pgx.NamedArgs{"tenant_id": c.TenantID, "phone": c.Phone})
		err = func() (err error) {
			br := s.db.pool.SendBatch(ctx, b)
			defer func() {
				if cerr := br.Close(); err == nil {
					err = cerr // the first error of a batch is also Close's: keep one
				}
			}()
			if _, err := br.Exec(); err != nil {
				return err
			}
			return br.QueryRow().Scan(sqlcore.TextScan{S: &id}, sqlcore.TextScan{S: &hash}, sqlcore.TextScan{S: &profile})
		}()
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, s.core.Errf("user %w", store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, s.core.Errf("save code and find user: %w", err)
	}
	return sqlcore.ScanUser(c.TenantID, c.Phone, id, hash, profile), nil
}

// hostResetFast applies a reset on a host's users table in two round trips
// and one transaction: BEGIN and every statement of the reset (consume, the
// host's UpdatePassword, revoke, create the session, write the outbox) go in
// one pipelined batch on one connection, then COMMIT, or ROLLBACK when the
// code was not consumed (ok=false: the general path then counts or
// explains it), the host's update found no user, or anything failed. The
// statements after the consume run even when it found nothing; the
// rollback undoes them.
func hostResetFast(ctx context.Context, s *sqlcore.Store, r store.Reset) (ok bool, err error) {
	db := s.DB.(*pgDB)
	c, ch := r.Check, r.Change
	profile, err := s.ValidProfile(ch.Profile)
	if err != nil {
		return false, err
	}
	if ch.Profile == nil {
		return false, s.Errf("HostUsers needs the whole profile in a password change")
	}
	b := &pgx.Batch{}
	b.Queue("begin")
	b.Queue(sqlcore.ConsumeSQL, c.TenantID, c.Phone, c.Now, c.CodeHash)
	b.Queue(s.Host.UpdatePassword, pgx.NamedArgs{"tenant_id": ch.TenantID, "user_id": ch.UserID,
		"password_hash": ch.PasswordHash, "profile": profile, "changed_at": ch.ChangedAt})
	b.Queue(sqlcore.RevokeSessionsSQL, ch.TenantID, ch.UserID)
	if n := r.NewSession; n != nil {
		b.Queue(sqlcore.CreateSessionSQL, n.TenantID, n.ID, n.UserID, n.AccessTokenHash, n.RefreshTokenHash, n.CreatedAt, n.ExpiresAt)
	}
	for _, m := range r.Outbox {
		if !json.Valid(m.Payload) {
			return false, s.Errf("outbox payload is not valid JSON")
		}
		b.Queue(sqlcore.InsertOutboxSQL, m.ID, m.TenantID, string(m.Payload), m.CreatedAt)
	}
	if r.ClearGuesses {
		b.Queue(sqlcore.ClearGuessesSQL, c.TenantID, c.Phone)
	}

	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return false, s.Errf("reset: %w", err)
	}
	defer conn.Release()
	consumed, changed, err := func() (consumed bool, changed int64, err error) {
		br := conn.SendBatch(ctx, b)
		defer func() {
			if cerr := br.Close(); err == nil {
				err = cerr
			}
		}()
		if _, err := br.Exec(); err != nil { // begin
			return false, 0, err
		}
		var one int
		switch err := br.QueryRow().Scan(&one); {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return false, 0, err
		default:
			consumed = true
		}
		for i := 2; i < b.Len(); i++ {
			tag, err := br.Exec()
			if err != nil {
				return consumed, 0, err
			}
			if i == 2 {
				changed = tag.RowsAffected()
			}
		}
		return consumed, changed, nil
	}()
	switch {
	case err != nil:
	case !consumed:
		err = errNotConsumed
	case changed == 0:
		err = fmt.Errorf("user %w", store.ErrNotFound)
	case changed > 1:
		err = sqlcore.TooManyRows(changed) // rolled back below
	case s.AfterConsume != nil:
		err = s.AfterConsume(ctx, pgQ{conn})
	}
	if err != nil {
		// Rolled back even when ctx is done, so the connection goes back to
		// the pool outside any transaction; one that cannot roll back is
		// closed rather than reused.
		if _, rbErr := conn.Exec(context.WithoutCancel(ctx), "rollback"); rbErr != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
		if errors.Is(err, errNotConsumed) {
			return false, nil
		}
		return false, s.Errf("reset: %w", err)
	}
	if _, err := conn.Exec(ctx, "commit"); err != nil {
		_ = conn.Conn().Close(context.WithoutCancel(ctx))
		return false, s.Errf("reset: commit: %w", err)
	}
	return true, nil
}
