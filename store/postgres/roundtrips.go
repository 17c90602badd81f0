package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/internal/sqlcore"
)

// hostResetFast applies a reset on a host's users table in two round trips
// and one transaction: BEGIN and every statement of the reset (the phone's
// lock, consume, the host's UpdatePassword, revoke, create the session,
// write the outbox, clear the phone's counters) go in one pipelined batch
// on one connection, then COMMIT, or ROLLBACK when the
// code was not consumed (ok=false: the general path then counts or
// explains it), the host's update found no user, or anything failed. The
// statements after the consume run even when it found nothing; the
// rollback undoes them.
func hostResetFast(ctx context.Context, s *sqlcore.Store, r store.Reset) (ok bool, err error) {
	b, err := hostResetBatch(s, r)
	if err != nil {
		return false, err
	}
	conn, err := s.DB.(*pgDB).pool.Acquire(ctx)
	if err != nil {
		return false, s.Errf("reset: %w", err)
	}
	defer conn.Release()
	consumed, changed, err := sendHostReset(ctx, conn, b)
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
	return endHostReset(ctx, s, conn, err)
}

// hostResetBatch is the pipelined batch of a host reset: BEGIN, the
// phone's lock, consume, the host's UpdatePassword (statement 3), revoke,
// the new session, the outbox, clear the phone's counters.
func hostResetBatch(s *sqlcore.Store, r store.Reset) (*pgx.Batch, error) {
	c, ch := r.Check, r.Change
	profile, err := s.ValidProfile(ch.Profile)
	if err != nil {
		return nil, err
	}
	if ch.Profile == nil {
		return nil, s.Errf("HostUsers needs the whole profile in a password change")
	}
	b := &pgx.Batch{}
	b.Queue("begin")
	b.Queue(lockPhoneSQL, c.TenantID, c.Phone)
	b.Queue(sqlcore.ConsumeSQL, c.TenantID, c.Phone, c.Now, c.CodeHash)
	b.Queue(s.Host.UpdatePassword, pgx.NamedArgs{"tenant_id": ch.TenantID, "user_id": ch.UserID,
		"password_hash": ch.PasswordHash, "profile": profile, "changed_at": ch.ChangedAt})
	b.Queue(sqlcore.RevokeSessionsSQL, ch.TenantID, ch.UserID)
	if n := r.NewSession; n != nil {
		b.Queue(sqlcore.CreateSessionSQL, n.TenantID, n.ID, n.UserID, n.AccessTokenHash, n.RefreshTokenHash, n.CreatedAt, n.ExpiresAt)
	}
	for _, m := range r.Outbox {
		if !json.Valid(m.Payload) {
			return nil, s.Errf("outbox payload is not valid JSON")
		}
		b.Queue(sqlcore.InsertOutboxSQL, m.ID, m.TenantID, string(m.Payload), m.CreatedAt)
	}
	b.Queue(clearCountersSQL, c.TenantID, c.Phone)
	return b, nil
}

// sendHostReset sends the batch in one round trip and reads whether the
// code was consumed and how many rows the host's UpdatePassword changed.
func sendHostReset(ctx context.Context, conn *pgxpool.Conn, b *pgx.Batch) (consumed bool, changed int64, err error) {
	br := conn.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	for range 2 { // begin, the phone's lock
		if _, err := br.Exec(); err != nil {
			return false, 0, err
		}
	}
	var one int
	switch err := br.QueryRow().Scan(&one); {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return false, 0, err
	default:
		consumed = true
	}
	for i := 3; i < b.Len(); i++ {
		tag, err := br.Exec()
		if err != nil {
			return consumed, 0, err
		}
		if i == 3 { // the host's UpdatePassword
			changed = tag.RowsAffected()
		}
	}
	return consumed, changed, nil
}

// endHostReset commits the reset's transaction, or rolls it back when err
// says so: ok=false with no error means the code was not consumed.
func endHostReset(ctx context.Context, s *sqlcore.Store, conn *pgxpool.Conn, err error) (ok bool, _ error) {
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
