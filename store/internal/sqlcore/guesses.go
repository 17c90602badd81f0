package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/otpreset/go/store"
)

// The guessing budget (store.Guesses) in otpreset_guesses, one row per key.
//
// TakeGuess is one statement: an upsert whose SET computes store.NextGuess
// from the row it has locked, so deciding and counting are one atomic step
// (the row lock on PostgreSQL, the write lock on SQLite), and concurrent
// takes never allow more than the budget. A refused take rewrites the row
// unchanged but for last_allowed, which is how the statement's RETURNING
// tells a refusal from a take: RETURNING sees only the row after the
// update, and a refused row can equal one whose take just started a
// lockout.
//
// The statement's parameters: $1 tenant, $2 phone, $3 now, $4 Attempts,
// $5 Lockout, $6 MaxLockout, $7 Retain (durations in nanoseconds, Retain 0
// meaning kept until cleared), $8 pastLock.

// guessFragments are the parts of the update, in the order they are
// substituted (each may use the ones before it). g is the row as locked.
var guessFragments = []string{
	// The row is live: not forgotten for want of a guess within Retain.
	"{live}", `(g.forget_at IS NULL OR g.forget_at > $3)`,
	// The state before the take: a forgotten row counts as zero, and an
	// ended lockout as none.
	"{F}", `(CASE WHEN {live} THEN g.failures ELSE 0 END)`,
	"{L}", `(CASE WHEN {live} THEN g.lockouts ELSE 0 END)`,
	"{U}", `(CASE WHEN {live} AND g.locked_until > $3 THEN g.locked_until END)`,
	// Refused: locked, and no verified captcha to pass the lock with.
	"{refused}", `({U} IS NOT NULL AND NOT CAST($8 AS boolean))`,
	// This guess is a multiple of Attempts: it starts lockout {L} + 1.
	"{starts}", `(CASE WHEN CAST($4 AS integer) > 0 THEN ({F} + 1) % CAST($4 AS integer) = 0 ELSE false END)`,
	// k = n - 1 for lockout n = {L} + 1, capped where any doubling of a
	// lockout of 1ns or more passes any MaxLockout (so the shift below
	// never overflows).
	"{k}", `(CASE WHEN {L} < 62 THEN {L} ELSE 62 END)`,
	// GuessPolicy.LockoutFor({L} + 1): Lockout << k, at most MaxLockout,
	// compared as Lockout > MaxLockout >> k so nothing overflows.
	"{lockoutFor}", `(CASE WHEN CAST($5 AS bigint) > (CAST($6 AS bigint) >> {k}) THEN CAST($6 AS bigint)
		ELSE CAST($5 AS bigint) << {k} END)`,
}

// takeGuessSQL builds TakeGuess's statement; plus is the dialect's time
// plus nanoseconds.
func takeGuessSQL(plus func(t, ns string) string) string {
	// A new key: its first guess, which starts a lockout only when
	// Attempts is 1 (LockoutFor(1) is Lockout, at most MaxLockout).
	first := `CASE WHEN CAST($5 AS bigint) > CAST($6 AS bigint) THEN CAST($6 AS bigint) ELSE CAST($5 AS bigint) END`
	retainEnd := `CASE WHEN CAST($7 AS bigint) > 0 THEN ` + plus("$3", "CAST($7 AS bigint)") + ` END`
	q := `INSERT INTO otpreset_guesses AS g
		(tenant_id, phone, failures, lockouts, locked_until, seen_at, forget_at, last_allowed)
	VALUES ($1, $2, 1,
		CASE WHEN CAST($4 AS integer) = 1 THEN 1 ELSE 0 END,
		CASE WHEN CAST($4 AS integer) = 1 THEN ` + plus("$3", first) + ` END,
		$3, ` + retainEnd + `, true)
	ON CONFLICT (tenant_id, phone) DO UPDATE SET
		(failures, lockouts, locked_until, seen_at, forget_at, last_allowed) = (
		CASE WHEN {refused} THEN g.failures ELSE {F} + 1 END,
		CASE WHEN {refused} THEN g.lockouts WHEN {starts} THEN {L} + 1 ELSE {L} END,
		CASE WHEN {refused} THEN g.locked_until WHEN {starts} THEN ` + plus("$3", "{lockoutFor}") + ` ELSE {U} END,
		CASE WHEN {refused} THEN g.seen_at ELSE $3 END,
		CASE WHEN {refused} THEN g.forget_at ELSE ` + retainEnd + ` END,
		NOT {refused})
	RETURNING failures, lockouts, locked_until, last_allowed`
	// Substitute the last fragments first: they use the earlier ones.
	for i := len(guessFragments) - 2; i >= 0; i -= 2 {
		q = strings.ReplaceAll(q, guessFragments[i], guessFragments[i+1])
	}
	return q
}

// TakeGuessSQL is TakeGuess's statement in the store's dialect (for the
// adapters' round-trip tests).
func (s *Store) TakeGuessSQL() string { return s.takeGuess }

// TakeGuess implements store.Guesses in one statement.
func (s *Store) TakeGuess(ctx context.Context, k store.GuessKey, now time.Time, p store.GuessPolicy, pastLock bool) (store.Guess, error) {
	var g store.Guess
	err := s.DB.QueryRow(ctx, s.takeGuess, k.TenantID, k.Phone, s.Dialect.Time(now),
		p.Attempts, int64(p.Lockout), int64(p.MaxLockout), int64(max(p.Retain, 0)), pastLock).
		Scan(&g.Failures, &g.Lockouts, TimeScan{&g.LockedUntil}, &g.Allowed)
	if err != nil {
		return store.Guess{}, s.errf("take guess: %w", err)
	}
	// The guess that reached a multiple of Attempts started the lockout
	// (a refused one counted nothing).
	g.StartedLockout = g.Allowed && p.Attempts > 0 && g.Failures%p.Attempts == 0
	return g, nil
}

// ReturnGuess implements store.Guesses in one statement: store.ReturnedGuess
// on the row.
func (s *Store) ReturnGuess(ctx context.Context, k store.GuessKey, took store.Guess) error {
	_, err := s.DB.Exec(ctx, `UPDATE otpreset_guesses SET
			failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END,
			lockouts = CASE WHEN $3 AND lockouts = $4 AND lockouts > 0 THEN lockouts - 1 ELSE lockouts END,
			locked_until = CASE WHEN $3 AND lockouts = $4 AND lockouts > 0 THEN NULL ELSE locked_until END
		WHERE tenant_id = $1 AND phone = $2`,
		k.TenantID, k.Phone, took.StartedLockout, took.Lockouts)
	if err != nil {
		return s.errf("return guess: %w", err)
	}
	return nil
}

// PeekGuesses implements store.Guesses: the row, unless forgotten, with a
// lockout that has ended reported as none.
func (s *Store) PeekGuesses(ctx context.Context, k store.GuessKey, now time.Time) (store.Guess, error) {
	var g store.Guess
	err := s.DB.QueryRow(ctx, `SELECT failures, lockouts, locked_until FROM otpreset_guesses
		WHERE tenant_id = $1 AND phone = $2 AND (forget_at IS NULL OR forget_at > $3)`,
		k.TenantID, k.Phone, s.Dialect.Time(now)).
		Scan(&g.Failures, &g.Lockouts, TimeScan{&g.LockedUntil})
	if errors.Is(err, sql.ErrNoRows) {
		return store.Guess{}, nil
	}
	if err != nil {
		return store.Guess{}, s.errf("peek guesses: %w", err)
	}
	if !g.LockedUntil.IsZero() && !now.Before(g.LockedUntil) {
		g.LockedUntil = time.Time{}
	}
	return g, nil
}

// ClearGuessesSQL forgets a key's budget ($1 tenant, $2 phone): ClearGuesses,
// and a Reset with ClearGuesses set.
const ClearGuessesSQL = `DELETE FROM otpreset_guesses WHERE tenant_id = $1 AND phone = $2`

// ClearGuesses implements store.Guesses.
func (s *Store) ClearGuesses(ctx context.Context, k store.GuessKey) error {
	if _, err := s.DB.Exec(ctx, ClearGuessesSQL, k.TenantID, k.Phone); err != nil {
		return s.errf("clear guesses: %w", err)
	}
	return nil
}
