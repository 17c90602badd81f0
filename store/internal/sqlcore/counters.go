package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/otpreset/go/store"
)

// The counters that guard a phone's codes (store.NetworkState per tenant,
// phone and client network in otpreset_network_counters; store.PhoneState
// per tenant and phone in otpreset_phone_budget), and the steps over them.
//
// The general steps here run in one transaction each and apply the pure
// reference steps themselves (store.NextIssue, store.Live,
// store.NextAttempt) to the rows they read: exact where the transaction
// holds the database's write lock from its start, as SQLite's BEGIN
// IMMEDIATE does. PostgreSQL, where that would take several round trips and
// not serialise concurrent steps, replaces them with functions of its
// migration, one call each.

// DefaultPurgeEvery is Store.PurgeEvery as New sets it: one send or code
// check in 64 also purges up to PurgeLimit rows of each table. That is
// about 1.5 rows per step per table, more than the one row a step can
// create in each, so the tables shrink back to what lives at once.
const DefaultPurgeEvery = 64

// PurgeLimit is how many rows of each table one purge deletes at most, so
// that the step that carries it stays short.
const PurgeLimit = 100

// PurgeNow counts one step and reports how many rows of each table it
// should purge: PurgeLimit on every PurgeEvery-th step, otherwise 0.
func (s *Store) PurgeNow() int {
	if s.PurgeEvery == 0 || s.purges.Add(1)%s.PurgeEvery != 0 {
		return 0
	}
	return PurgeLimit
}

func (s *Store) clearCounters(ctx context.Context, q Querier, tenantID, phone string) error {
	for _, stmt := range s.Dialect.ClearCounters {
		if _, err := q.Exec(ctx, stmt, tenantID, phone); err != nil {
			return fmt.Errorf("clear counters: %w", err)
		}
	}
	return nil
}

// Steps are an adapter's own counter steps, which replace the general ones
// below (Store.Steps).
type Steps interface {
	IssueChallenge(ctx context.Context, iss store.Issue) (store.Issued, error)
	IssueCode(ctx context.Context, iss store.Issue) (store.Issued, error)
	CheckCode(ctx context.Context, a store.Attempt) (store.Verdict, error)
	ClearCounters(ctx context.Context, tenantID, phone string) error
}

// ClearCounters implements store.Challenges in one transaction.
func (s *Store) ClearCounters(ctx context.Context, tenantID, phone string) error {
	if s.Steps != nil {
		return s.Steps.ClearCounters(ctx, tenantID, phone)
	}
	if err := s.DB.InTx(ctx, func(q Querier) error { return s.clearCounters(ctx, q, tenantID, phone) }); err != nil {
		return s.errf("%w", err)
	}
	return nil
}

// network is a network's row as read: its state, when the row stops
// counting, and whether it exists.
type network struct {
	store.NetworkState
	forget time.Time
	found  bool
}

func (s *Store) readNetwork(ctx context.Context, q Querier, tenantID, phone, net string) (network, error) {
	var n network
	err := q.QueryRow(ctx, `SELECT failures, lockouts, locked_until, seen_at, sends, sends_reset, forget_at
		FROM otpreset_network_counters WHERE tenant_id = $1 AND phone = $2 AND network = $3`,
		tenantID, phone, net).
		Scan(&n.Failures, &n.Lockouts, TimeScan{&n.LockedUntil}, TimeScan{&n.Seen}, &n.Sends,
			TimeScan{&n.SendsReset}, TimeScan{&n.forget})
	if errors.Is(err, sql.ErrNoRows) {
		return network{}, nil
	}
	if err != nil {
		return network{}, fmt.Errorf("read counters: %w", err)
	}
	n.found = true
	return n, nil
}

// writeNetwork writes a network's row whole.
func (s *Store) writeNetwork(ctx context.Context, q Querier, tenantID, phone, net string, n network) error {
	_, err := q.Exec(ctx, `INSERT INTO otpreset_network_counters
			(tenant_id, phone, network, failures, lockouts, locked_until, seen_at, sends, sends_reset, forget_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (tenant_id, phone, network) DO UPDATE SET failures = excluded.failures,
			lockouts = excluded.lockouts, locked_until = excluded.locked_until, seen_at = excluded.seen_at,
			sends = excluded.sends, sends_reset = excluded.sends_reset, forget_at = excluded.forget_at`,
		tenantID, phone, net, n.Failures, n.Lockouts, s.nullTime(n.LockedUntil), s.nullTime(n.Seen),
		n.Sends, s.nullTime(n.SendsReset), s.Dialect.Time(n.forget))
	if err != nil {
		return fmt.Errorf("write counters: %w", err)
	}
	return nil
}

// nullTime is t in the dialect's form, NULL for the zero time.
func (s *Store) nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.Dialect.Time(t)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// purge deletes up to n rows of each table that nothing needs at now.
func (s *Store) purge(ctx context.Context, q Querier, now time.Time, n int) error {
	if n == 0 {
		return nil
	}
	for _, stmt := range s.Dialect.Purge {
		if _, err := q.Exec(ctx, stmt, s.Dialect.Time(now), n); err != nil {
			return fmt.Errorf("purge: %w", err)
		}
	}
	return nil
}

// IssueChallenge implements store.Challenges in one transaction:
// store.NextIssue on the network's row, then the phone's live code kept
// (store.Live) or iss.Challenge saved.
func (s *Store) IssueChallenge(ctx context.Context, iss store.Issue) (store.Issued, error) {
	if s.Steps != nil {
		return s.Steps.IssueChallenge(ctx, iss)
	}
	var issued store.Issued
	purge := s.PurgeNow()
	err := s.DB.InTx(ctx, func(q Querier) error {
		var err error
		issued, err = s.issue(ctx, q, iss, purge)
		return err
	})
	if err != nil {
		return store.Issued{}, s.errf("issue code: %w", err)
	}
	return issued, nil
}

// IssueCode implements store.CodeIssuer in one transaction: UserByPhone
// (otpreset_users or HostUsers.UserByPhone), then IssueChallenge's step
// with NoUser set when there is no user.
func (s *Store) IssueCode(ctx context.Context, iss store.Issue) (store.Issued, error) {
	if s.Steps != nil {
		return s.Steps.IssueCode(ctx, iss)
	}
	var issued store.Issued
	purge := s.PurgeNow()
	err := s.DB.InTx(ctx, func(q Querier) error {
		u, err := s.userByPhone(ctx, q, iss.Challenge.TenantID, iss.Challenge.Phone)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		iss.NoUser = err != nil
		issued, err = s.issue(ctx, q, iss, purge)
		if err != nil {
			return err
		}
		issued.User, issued.Found = u, !iss.NoUser
		return nil
	})
	if err != nil {
		return store.Issued{}, s.errf("issue code: %w", err)
	}
	return issued, nil
}

func (s *Store) issue(ctx context.Context, q Querier, iss store.Issue, purge int) (store.Issued, error) {
	c, now := iss.Challenge, iss.Challenge.CreatedAt
	var n network
	var err error
	if iss.SendLimit.Limit > 0 {
		if n, err = s.readNetwork(ctx, q, c.TenantID, c.Phone, iss.Network); err != nil {
			return store.Issued{}, err
		}
	}
	var issued store.Issued
	n.NetworkState, issued = store.NextIssue(n.NetworkState, iss)
	if iss.SendLimit.Limit > 0 {
		n.forget = later(n.forget, n.SendsReset) // the window's end
		if err := s.writeNetwork(ctx, q, c.TenantID, c.Phone, iss.Network, n); err != nil {
			return store.Issued{}, err
		}
	}
	if !issued.Limited && !iss.NoUser {
		if issued.Challenge, err = s.keepOrSave(ctx, q, c); err != nil {
			return store.Issued{}, err
		}
	}
	if err := s.purge(ctx, q, now, purge); err != nil {
		return store.Issued{}, err
	}
	return issued, nil
}

// keepOrSave returns the phone's live code, or saves c and returns it. A
// code saved without a nonce (before migration 4) is not kept: the handler
// could not send it again.
func (s *Store) keepOrSave(ctx context.Context, q Querier, c store.Challenge) (store.Challenge, error) {
	old := store.Challenge{TenantID: c.TenantID, Phone: c.Phone}
	var usedAt time.Time
	var attempts int
	var noNonce bool
	err := q.QueryRow(ctx, `SELECT nonce IS NULL, nonce, code_hash, created_at, expires_at, max_attempts,
			attempts, used_at
		FROM otpreset_challenges WHERE tenant_id = $1 AND phone = $2`, c.TenantID, c.Phone).
		Scan(&noNonce, &old.Nonce, &old.CodeHash, TimeScan{&old.CreatedAt}, TimeScan{&old.ExpiresAt},
			&old.MaxAttempts, &attempts, TimeScan{&usedAt})
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return store.Challenge{}, fmt.Errorf("read challenge: %w", err)
	case !noNonce && store.Live(old, !usedAt.IsZero(), attempts, c.CreatedAt):
		old.Nonce = orNil(old.Nonce)
		return old, nil
	}
	_, err = q.Exec(ctx, `INSERT INTO otpreset_challenges
			(tenant_id, phone, nonce, code_hash, created_at, expires_at, max_attempts, attempts, used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 0, NULL)
		ON CONFLICT (tenant_id, phone) DO UPDATE SET nonce = excluded.nonce, code_hash = excluded.code_hash,
			created_at = excluded.created_at, expires_at = excluded.expires_at,
			max_attempts = excluded.max_attempts, attempts = 0, used_at = NULL`,
		c.TenantID, c.Phone, append([]byte{}, c.Nonce...), c.CodeHash, s.Dialect.Time(c.CreatedAt),
		s.Dialect.Time(c.ExpiresAt), c.MaxAttempts)
	if err != nil {
		return store.Challenge{}, fmt.Errorf("save challenge: %w", err)
	}
	c.Nonce = orNil(append([]byte(nil), c.Nonce...))
	c.CodeHash = append([]byte(nil), c.CodeHash...)
	return c, nil
}

// orNil is b, or nil when empty (as memstore returns an empty nonce).
func orNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// CheckCode implements store.Challenges in one transaction:
// store.NextAttempt on the network's and the phone's rows, comparing with
// the general check (which counts the code's wrong tries), and the rows
// written back when the comparison was counted.
func (s *Store) CheckCode(ctx context.Context, a store.Attempt) (store.Verdict, error) {
	if s.Steps != nil {
		return s.Steps.CheckCode(ctx, a)
	}
	var v store.Verdict
	purge := s.PurgeNow()
	err := s.DB.InTx(ctx, func(q Querier) error {
		c := a.Check
		n, err := s.readNetwork(ctx, q, c.TenantID, c.Phone, a.Network)
		if err != nil {
			return err
		}
		var ph store.PhoneState
		err = q.QueryRow(ctx, `SELECT budget_at FROM otpreset_phone_budget WHERE tenant_id = $1 AND phone = $2`,
			c.TenantID, c.Phone).Scan(TimeScan{&ph.BudgetAt})
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read budget: %w", err)
		}
		var fault error
		n.NetworkState, ph, v = store.NextAttempt(n.NetworkState, ph, a, func() error {
			err := s.check(ctx, q, c, false)
			if err != nil && !IsVerdict(err) {
				fault = err
			}
			return err
		})
		if fault != nil {
			return fault
		}
		if v.Counted {
			// Purgeable once the lockout has ended and Retain (and
			// MaxLockout) has passed since this wrong code, as memstore.
			p := a.Policy
			n.forget = later(later(n.forget, n.LockedUntil), n.Seen.Add(max(p.Retain, p.MaxLockout)))
			if err := s.writeNetwork(ctx, q, c.TenantID, c.Phone, a.Network, n); err != nil {
				return err
			}
			if p.BudgetInterval() > 0 {
				_, err := q.Exec(ctx, `INSERT INTO otpreset_phone_budget (tenant_id, phone, budget_at) VALUES ($1, $2, $3)
					ON CONFLICT (tenant_id, phone) DO UPDATE SET budget_at = excluded.budget_at`,
					c.TenantID, c.Phone, s.Dialect.Time(ph.BudgetAt))
				if err != nil {
					return fmt.Errorf("write budget: %w", err)
				}
			}
		}
		return s.purge(ctx, q, c.Now, purge)
	})
	if err != nil {
		return store.Verdict{}, s.errf("check code: %w", err)
	}
	return v, nil
}
