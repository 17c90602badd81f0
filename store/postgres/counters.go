package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/internal/sqlcore"
)

// The counters that guard a phone's codes, and the steps that take them.
// Each step is one call of a PL/pgSQL function of migration 0005
// (otpreset_issue, otpreset_check_code, otpreset_clear_counters), so one
// round trip, atomic on its own (a statement outside BEGIN is its own
// transaction). A phone's code and all its counters are one row of
// otpreset_challenges (the counters of each client network in a jsonb
// column), so a step reads that row under its lock (SELECT ... FOR
// UPDATE: the steps of one phone run one after another whichever server
// sends them) and writes it once, applying the reference step of package
// store (store.NextIssue and store.Live; store.NextAttempt) to what it
// read. A wrong code is thus one UPDATE of one row, as the floor's
// (cmd/floorbench); a send to a phone whose live code is kept, without a
// send limit, writes nothing.

// issueColumns are otpreset_issue's outputs, as issueRow scans them.
const issueColumns = `i.o_limited, i.o_sends_left, i.o_limit_resets, i.o_stored, i.o_nonce, i.o_code_hash,
	i.o_created_at, i.o_expires_at, i.o_max_attempts`

// issueSQL is IssueChallenge: $1 tenant, $2 phone, $3 network, $4 now (the
// challenge's CreatedAt), $5 send limit, $6 its period (ns), $7 whether to
// save a code, $8 nonce, $9 code hash, $10 expires, $11 max attempts, $12
// rows to purge.
const issueSQL = `SELECT ` + issueColumns + `
FROM otpreset_issue($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) AS i`

// ownUserByPhone is UserByPhone on otpreset_users, with issueCodeSQL's
// named parameters.
const ownUserByPhone = `SELECT id, password_hash, profile FROM otpreset_users
	WHERE tenant_id = @tenant_id AND phone = @phone`

// issueCodeSQL is IssueCode in one statement: the user query (otpreset's, or
// the host's UserByPhone, which keeps its own @tenant_id and @phone) as a
// CTE, whose existence tells otpreset_issue whether to save a code; the
// statement's own arguments are named apart (@p_...), so that the host's
// query may compare @tenant_id with a column of any type. Without a send
// limit to count, the two common sends skip the function altogether: a
// phone with a user and a live code gets that code (live, read without a
// lock: IssueChallenge keeps a live code anyway), and a phone without a
// user gets nothing (none); otpreset_issue runs only when neither applies
// (a one-time filter: PostgreSQL does not call it otherwise).
func issueCodeSQL(userByPhone string) string {
	return `WITH u (id, password_hash, profile) AS (
` + strings.TrimRight(strings.TrimSpace(userByPhone), ";") + `
), live AS (
	SELECT false AS o_limited, 0 AS o_sends_left, NULL::timestamptz AS o_limit_resets, true AS o_stored,
		ch.nonce AS o_nonce, ch.code_hash AS o_code_hash, ch.created_at AS o_created_at,
		ch.expires_at AS o_expires_at, ch.max_attempts AS o_max_attempts
	FROM otpreset_challenges ch
	WHERE @p_limit::integer <= 0 AND EXISTS (SELECT 1 FROM u)
		AND ch.tenant_id = @p_tenant_id::text AND ch.phone = @p_phone::text AND ch.code_hash IS NOT NULL
		AND ch.used_at IS NULL AND @p_now::timestamptz < ch.expires_at AND ch.attempts < ch.max_attempts
		AND ch.nonce IS NOT NULL
), none AS (
	SELECT false AS o_limited, 0 AS o_sends_left, NULL::timestamptz AS o_limit_resets, false AS o_stored,
		NULL::bytea AS o_nonce, NULL::bytea AS o_code_hash, NULL::timestamptz AS o_created_at,
		NULL::timestamptz AS o_expires_at, 0 AS o_max_attempts
	WHERE @p_limit::integer <= 0 AND NOT EXISTS (SELECT 1 FROM u)
), i AS (
	SELECT * FROM live
	UNION ALL
	SELECT * FROM none
	UNION ALL
	SELECT * FROM otpreset_issue(@p_tenant_id, @p_phone, @p_network, @p_now, @p_limit, @p_period, EXISTS (SELECT 1 FROM u),
		@p_nonce, @p_code_hash, @p_expires_at, @p_max_attempts, @p_purge)
	WHERE NOT EXISTS (SELECT 1 FROM live) AND NOT EXISTS (SELECT 1 FROM none)
)
SELECT ` + issueColumns + `, COALESCE(f.found, false), f.id::text, f.password_hash::text, f.profile::text
FROM i LEFT JOIN (SELECT id, password_hash, profile, true AS found FROM u LIMIT 1) AS f ON true`
}

// positional is a statement with named parameters (@name) rewritten once
// into PostgreSQL's positional ones ($n), and the names in their order.
type positional struct {
	sql   string
	names []string
	err   error
}

func newPositional(named string) positional {
	// Each name stands for itself: the rewritten arguments are the names,
	// in the order of their $n.
	names := pgx.NamedArgs{}
	for _, n := range sqlcore.ParamNames(named, paramPrefixes) {
		names[n[1:]] = n[1:]
	}
	sql, args, err := names.RewriteQuery(context.Background(), nil, named, nil)
	p := positional{sql: sql, err: err}
	for _, a := range args {
		name, _ := a.(string) // nil for a name ParamNames missed: passed as NULL, as pgx would
		p.names = append(p.names, name)
	}
	return p
}

// args are the statement's arguments in order, value giving each name's.
func (p positional) args(value func(name string) any) ([]any, error) {
	if p.err != nil {
		return nil, p.err
	}
	args := make([]any, len(p.names))
	for i, n := range p.names {
		args[i] = value(n)
	}
	return args, nil
}

// issueRow is what otpreset_issue returns.
type issueRow struct {
	limited, stored bool
	sendsLeft       int
	resets          time.Time
	c               store.Challenge
}

func (r *issueRow) dest() []any {
	return []any{&r.limited, &r.sendsLeft, sqlcore.TimeScan{T: &r.resets}, &r.stored, &r.c.Nonce, &r.c.CodeHash,
		sqlcore.TimeScan{T: &r.c.CreatedAt}, sqlcore.TimeScan{T: &r.c.ExpiresAt}, &r.c.MaxAttempts}
}

func (r *issueRow) issued(tenantID, phone string) store.Issued {
	is := store.Issued{Limited: r.limited, SendsLeft: r.sendsLeft, LimitResets: r.resets}
	if r.stored {
		is.Challenge = r.c
		is.Challenge.TenantID, is.Challenge.Phone = tenantID, phone
		if len(is.Challenge.Nonce) == 0 {
			is.Challenge.Nonce = nil // as memstore returns an empty nonce
		}
	}
	return is
}

// IssueChallenge implements store.Challenges in one round trip: one call
// of otpreset_issue, which counts the send against iss.SendLimit in the
// network's row and, unless limited or iss.NoUser, keeps the phone's live
// code or saves iss.Challenge. A code saved before migration 4 has no
// nonce and is replaced, since the handler could not send it again.
func (s *Store) IssueChallenge(ctx context.Context, iss store.Issue) (store.Issued, error) {
	return s.issueChallenge(ctx, s.core.DB, iss)
}

func (s *Store) issueChallenge(ctx context.Context, q sqlcore.Querier, iss store.Issue) (store.Issued, error) {
	c := iss.Challenge
	var r issueRow
	err := q.QueryRow(ctx, issueSQL, c.TenantID, c.Phone, iss.Network, c.CreatedAt,
		iss.SendLimit.Limit, int64(iss.SendLimit.Period), !iss.NoUser,
		c.Nonce, c.CodeHash, c.ExpiresAt, c.MaxAttempts, s.core.PurgeNow()).Scan(r.dest()...)
	if err != nil {
		return store.Issued{}, s.core.Errf("issue code: %w", err)
	}
	return r.issued(c.TenantID, c.Phone), nil
}

// IssueCode implements store.CodeIssuer in one round trip: one statement
// that looks the user up (in otpreset_users, or with HostUsers.UserByPhone,
// embedded as a CTE) and calls otpreset_issue, which saves a code only for
// a phone with a user. Sends and checks that arrive while half the pool's
// connections are busy with others go together (see stepBatcher).
func (s *Store) IssueCode(ctx context.Context, iss store.Issue) (store.Issued, error) {
	c := iss.Challenge
	args, err := s.issueCode.args(func(name string) any {
		switch name {
		case "tenant_id", "p_tenant_id":
			return c.TenantID
		case "phone", "p_phone":
			return c.Phone
		case "p_network":
			return iss.Network
		case "p_now":
			return c.CreatedAt
		case "p_limit":
			return iss.SendLimit.Limit
		case "p_period":
			return int64(iss.SendLimit.Period)
		case "p_nonce":
			return c.Nonce
		case "p_code_hash":
			return c.CodeHash
		case "p_expires_at":
			return c.ExpiresAt
		case "p_max_attempts":
			return c.MaxAttempts
		case "p_purge":
			return s.core.PurgeNow()
		}
		return nil // a parameter of the host's query otpreset does not pass: Check names it
	})
	if err != nil {
		return store.Issued{}, s.core.Errf("issue code: %w", err)
	}
	var r issueRow
	var found bool
	var id, hash, profile string
	dest := append(r.dest(), &found, sqlcore.TextScan{S: &id}, sqlcore.TextScan{S: &hash}, sqlcore.TextScan{S: &profile})
	if err := s.steps.do(ctx, c.TenantID, c.Phone, s.issueCode.sql, args, dest...); err != nil {
		return store.Issued{}, s.core.Errf("issue code: %w", err)
	}
	is := r.issued(c.TenantID, c.Phone)
	if found {
		is.User, is.Found = sqlcore.ScanUser(c.TenantID, c.Phone, id, hash, profile), true
	}
	return is, nil
}

// checkCodeSQL is CheckCode: $1 tenant, $2 phone, $3 network, $4 now, $5
// code hash, $6 Attempts, $7 Lockout, $8 MaxLockout, $9 Retain, $10 the
// budget's interval, $11 its tolerance (durations in nanoseconds), $12
// PassLockout, $13 PassBudget, $14 rows to purge, $15 now in microseconds
// since 1970 (the unit of the instants in nets, see migration 0005), $16
// now + max(Retain, MaxLockout).
const checkCodeSQL = `SELECT o_refused, o_until, o_verdict, o_counted, o_started_lockout, o_lockouts
FROM otpreset_check_code($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`

// codeVerdicts are the comparison's outcomes by otpreset_check_code's
// o_verdict, made once: a wrong code allocates no error.
var codeVerdicts = []error{
	nil,
	fmt.Errorf("postgres: %w", store.ErrCodeMismatch),
	fmt.Errorf("postgres: %w", store.ErrNoChallenge),
	fmt.Errorf("postgres: %w", store.ErrChallengeExpired),
	fmt.Errorf("postgres: %w", store.ErrChallengeUsed),
	fmt.Errorf("postgres: %w", store.ErrTooManyAttempts),
}

// CheckCode implements store.Challenges in one round trip: one call of
// otpreset_check_code, which refuses a network locked out of the phone
// (unless a.PassLockout) and a spent budget (unless a.PassBudget), else
// compares the code without consuming it and counts a failed comparison
// against the network's ladder, the phone's budget and the code's tries.
// It reads no users table, so a wrong code costs the same whether or not
// the phone has a user. Checks and sends that arrive while half the pool's
// connections are busy with others go together, in one round trip and one
// transaction (see stepBatcher).
func (s *Store) CheckCode(ctx context.Context, a store.Attempt) (store.Verdict, error) {
	var r checkRow
	if err := s.steps.do(ctx, a.Check.TenantID, a.Check.Phone, checkCodeSQL, s.checkArgs(a), r.dest()...); err != nil {
		return store.Verdict{}, s.core.Errf("check code: %w", err)
	}
	return s.verdict(&r, a)
}

// checkArgs are checkCodeSQL's arguments for a.
func (s *Store) checkArgs(a store.Attempt) []any {
	c, p := a.Check, a.Policy
	interval := p.BudgetInterval()
	return []any{c.TenantID, c.Phone, a.Network, c.Now, c.CodeHash,
		p.Attempts, int64(p.Lockout), int64(p.MaxLockout), int64(max(p.Retain, 0)), int64(interval),
		int64(budgetTolerance(p)), a.PassLockout, a.PassBudget, s.core.PurgeNow(), c.Now.UnixMicro(),
		c.Now.Add(max(p.Retain, p.MaxLockout))}
}

// budgetTolerance is how far ahead of now the budget's theoretical arrival
// time may run (its burst, in intervals).
func budgetTolerance(p store.GuessPolicy) time.Duration {
	return time.Duration(max(p.BudgetBurst, 1)) * p.BudgetInterval()
}

// checkRow is what otpreset_check_code returns.
type checkRow struct {
	refused, verdict int
	until            time.Time
	v                store.Verdict
}

func (r *checkRow) dest() []any {
	return []any{&r.refused, sqlcore.TimeScan{T: &r.until}, &r.verdict, &r.v.Counted, &r.v.StartedLockout, &r.v.Lockouts}
}

// verdict reads r as the answer to a.
func (s *Store) verdict(r *checkRow, a store.Attempt) (store.Verdict, error) {
	v := r.v
	switch r.refused {
	case 0:
		if r.verdict < 0 || r.verdict >= len(codeVerdicts) {
			return store.Verdict{}, s.core.Errf("check code: unknown verdict %d", r.verdict)
		}
		v.Code = codeVerdicts[r.verdict]
	case 1:
		v.Refused, v.Until = store.RefusedLockout, r.until
	case 2: // until is the budget's theoretical arrival time
		v.Refused, v.Until = store.RefusedBudget, r.until.Add(-budgetTolerance(a.Policy)).Add(time.Nanosecond)
	default:
		return store.Verdict{}, s.core.Errf("check code: unknown refusal %d", r.refused)
	}
	return v, nil
}

// ClearCounters implements store.Challenges in one round trip: one call of
// otpreset_clear_counters, which empties the counters in the phone's row
// (every network forgotten, the budget whole) and keeps its code, under
// the row's lock.
func (s *Store) ClearCounters(ctx context.Context, tenantID, phone string) error {
	if _, err := s.core.DB.Exec(ctx, clearCountersSQL, tenantID, phone); err != nil {
		return s.core.Errf("clear counters: %w", err)
	}
	return nil
}

// clearCountersSQL: $1 tenant, $2 phone.
const clearCountersSQL = `SELECT otpreset_clear_counters($1, $2)`
