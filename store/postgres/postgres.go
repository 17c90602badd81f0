package postgres

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/internal/sqlcore"
)

// Config configures a Store. The zero value is valid: users live in
// otpreset_users, logs go to slog.Default, and time is the real clock.
type Config struct {
	// HostUsers, when set, reads and updates users in the host's own table
	// with the host's own queries, instead of otpreset_users. Challenges,
	// sessions and the outbox stay in otpreset's tables, and Migrate does
	// not create otpreset_users.
	HostUsers *HostUsers
	// Logger receives the store's few log lines (migrations applied). Nil
	// means slog.Default(). No code, hash or full phone number is ever logged.
	Logger *slog.Logger
	// Now is the clock for the times the store sets itself (delivered_at,
	// applied_at). Nil means time.Now. Expiry is never decided by it: the
	// caller's CodeCheck.Now and the now of LookupSession decide.
	Now func() time.Time
}

// HostUsers adapts a host's existing users table: with Config.HostUsers
// set, users are read and updated in it with these queries instead of in
// otpreset_users. Each field is one SQL statement with named parameters
// (@name, passed as pgx.NamedArgs); a query may leave out parameters it has
// no use for (a single-tenant host ignores @tenant_id, a table without a
// profile column ignores @profile). Inside Reset the statements run in the
// same transaction as the code's consumption, so a failure anywhere rolls
// the whole reset back.
//
//   - UserByPhone, required: at most one row of three columns, the user's
//     id (text, integer or uuid), password hash (text) and profile (a JSON
//     object as json, jsonb or text). A table without a profile column
//     selects NULL: its users then read with a minimal profile, Uid and ID
//     the id, PhoneId the phone, IsActive and PhoneIdVerified true,
//     LoginLockedType "None". Parameters: @tenant_id, @phone.
//   - UpdatePassword, required: changes exactly one row, the user's
//     password hash (and profile, if the table keeps one). No row is
//     store.ErrNotFound; more than one is an error, and the change (the
//     whole reset) is rolled back. Parameters: @tenant_id, @user_id (text: PostgreSQL
//     casts it to an integer or uuid id column), @password_hash, @profile
//     (JSON text), @changed_at (timestamptz).
//   - AddUser, optional: inserts or replaces a user; only Store.AddUser (the
//     conformance suite, otpresettest) uses it. Parameters: @tenant_id,
//     @user_id, @phone, @password_hash, @profile. A table whose ids the
//     database assigns (an identity column) leaves @user_id out.
//
// @phone is always E.164 ("+919999999999"): the table's phones must be
// stored in that form (normalise them once with otpreset.NormalizePhone;
// README.md beside this file has a migration sketch), or every phone is
// unknown and no SMS is ever sent.
//
// Migrate and Check refuse a HostUsers without UserByPhone or
// UpdatePassword, naming the missing field; Check also prepares every
// query and names the one that does not prepare, uses a parameter otpreset
// does not pass, or leaves out one it needs.
type HostUsers = sqlcore.HostUsers

// Store is a store.Store over PostgreSQL through pgx. It implements
// store.Store, store.CodeIssuer, store.Resetter, store.Outbox and
// storetest.UserSeeder. Create it with Open (a URL), New (the host's
// *pgxpool.Pool) or NewFromDB (the host's *sql.DB on pgx's driver), call
// Migrate once and Check at start, and Close it when done. It is safe for
// concurrent use.
type Store struct {
	core *sqlcore.Store
	db   *pgDB
	// issueCode is IssueCode's statement with positional parameters, and
	// the names they stand for, made once (pgx would rewrite the named
	// form on every call).
	issueCode positional
	// steps runs CheckCode's and IssueCode's statements, coalescing those
	// that arrive while the pool is busy.
	steps *stepBatcher
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Open connects to PostgreSQL at url (a pgx connection string such as
// postgres://user:pass@host:5432/db?sslmode=verify-full; pgxpool settings
// like pool_max_conns go in it too) and returns a Store that owns the pool.
// It refuses a HostUsers without UserByPhone or UpdatePassword (the error
// wraps store.ErrNotReady). It does not change the schema: call Migrate.
func Open(ctx context.Context, url string, cfg Config) (*Store, error) {
	if err := sqlcore.CheckHost(cfg.HostUsers); err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return newStore(pool, true, cfg), nil
}

// New returns a Store over the host's pool, which stays the host's to
// close. It does not change the schema: call Migrate. A HostUsers without
// UserByPhone or UpdatePassword is refused by Migrate and Check, and every
// user lookup fails, naming the missing field.
func New(pool *pgxpool.Pool, cfg Config) *Store {
	return newStore(pool, false, cfg)
}

// NewFromDB returns a Store for a host that reaches PostgreSQL through
// database/sql with pgx's driver: a db opened with sql.Open("pgx", url)
// (import github.com/jackc/pgx/v5/stdlib), stdlib.OpenDB or
// stdlib.OpenDBFromPool. It borrows one connection of db to read its
// settings (address, credentials, TLS, runtime parameters such as
// search_path) and opens a pgx pool of its own with them, because the
// store's one-round-trip statements are pgx batches and pipelines that
// database/sql cannot carry. That pool has pgxpool's default size (the
// larger of 4 and the number of CPUs) and is the store's: Close closes it,
// and db stays the host's. Settings that db's hooks (stdlib.OptionBeforeConnect,
// OptionAfterConnect) apply are copied as they were for the borrowed
// connection; hooks themselves are not run again. A db of another driver
// (lib/pq, say) is refused: use Open with the same URL.
//
// Like Open, it refuses a HostUsers without UserByPhone or UpdatePassword,
// and it does not change the schema: call Migrate.
func NewFromDB(ctx context.Context, db *sql.DB, cfg Config) (*Store, error) {
	if err := sqlcore.CheckHost(cfg.HostUsers); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: reading db's connection settings: %w", err)
	}
	defer conn.Close()
	var cc *pgx.ConnConfig
	err = conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("db's driver connection is a %T, not pgx's (*stdlib.Conn): open db with sql.Open(\"pgx\", url), or give the URL to postgres.Open", driverConn)
		}
		cc = c.Conn().Config()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pc, err := pgxpool.ParseConfig(cc.ConnString())
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pc.ConnConfig = cc
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return newStore(pool, true, cfg), nil
}

func newStore(pool *pgxpool.Pool, owns bool, cfg Config) *Store {
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded above: cannot happen
	}
	db := &pgDB{pgQ: pgQ{pool}, pool: pool, owns: owns}
	d := sqlcore.Dialect{
		Name:           "postgres",
		Time:           func(t time.Time) any { return t },
		Named:          func(m map[string]any) []any { return []any{pgx.NamedArgs(m)} },
		ResetFast:      resetFast,
		LockPhone:      lockPhoneSQL,
		ClearCounters:  []string{clearCountersSQL},
		Forgotten:      []string{`DELETE FROM otpreset_challenges WHERE forget_at <= $1`},
		LockMigrations: `SELECT pg_advisory_xact_lock(7263540191)`, // any constant key; "otpreset" on a phone pad
		Migrations:     migrations,
	}
	st := &Store{core: sqlcore.New(db, d, cfg.core()), db: db}
	st.core.Steps = st
	userByPhone := ownUserByPhone
	if cfg.HostUsers != nil {
		userByPhone = cfg.HostUsers.UserByPhone
	}
	st.issueCode = newPositional(issueCodeSQL(userByPhone))
	st.steps = &stepBatcher{one: st.runAlone, many: st.runBatch, limit: stepRuns(pool.Config().MaxConns), maxSize: batchMax}
	return st
}

// Close releases the pool Open or NewFromDB created. A pool passed to New,
// and the db passed to NewFromDB, are left open for their owner.
func (s *Store) Close() {
	if s.db.owns {
		s.db.pool.Close()
	}
}

// paramPrefixes start a named parameter in pgx.NamedArgs.
const paramPrefixes = "@"

// describe prepares query (its @names rewritten to $n, as pgx.NamedArgs
// does) as PostgreSQL's unnamed statement, which parses and plans it
// without running it, and returns the number of columns it would return.
func (s *Store) describe(ctx context.Context, query string) (int, error) {
	sql, _, err := pgx.NamedArgs{}.RewriteQuery(ctx, nil, query, nil)
	if err != nil {
		return 0, err
	}
	conn, err := s.db.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	sd, err := conn.Conn().PgConn().Prepare(ctx, "", sql, nil)
	if err != nil {
		return 0, err
	}
	return len(sd.Fields), nil
}

// --- pgx under the shared SQL ---

type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type pgQ struct{ q pgxQuerier }

func (p pgQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (p pgQ) QueryRow(ctx context.Context, query string, args ...any) sqlcore.Row {
	return p.q.QueryRow(ctx, query, args...)
}

func (p pgQ) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	rows, err := p.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

type pgDB struct {
	pgQ
	pool *pgxpool.Pool
	owns bool
}

func (d *pgDB) InTx(ctx context.Context, fn func(q sqlcore.Querier) error) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error { return fn(pgQ{tx}) })
}

// lockPhoneSQL takes the phone's lock ($1 tenant, $2 phone): its row's,
// which every step that writes the row takes (see counters.go), so that a
// reset, a send and a code check of one phone run one after another. A
// phone without a row has no code to consume, so there is nothing to lock.
const lockPhoneSQL = `SELECT 1 FROM otpreset_challenges WHERE tenant_id = $1 AND phone = $2 FOR UPDATE`

// resetSQL applies a whole reset in one statement, atomic on its own.
// Every data-modifying CTE depends, through EXISTS, on the consumption of
// the code, so when the code does not match nothing else changes; and the
// consumption is a conditional UPDATE of the phone's row, which takes the
// row's lock (the phone's lock, see counters.go), so of concurrent resets
// and code checks only the first one sees the code usable. The same UPDATE
// clears the phone's counters, which live in that row: only a success
// clears them. The code is consumed only for a user that exists, so an
// unknown user spends nothing. The new session is invisible to the DELETE
// (all CTEs see one snapshot), so it is not revoked with the old ones.
const resetSQL = `WITH consumed AS (
	UPDATE otpreset_challenges SET used_at = $3, ` + clearedCounters + `
	WHERE tenant_id = $1 AND phone = $2 AND code_hash = $4 AND ` + sqlcore.Usable + `
		AND EXISTS (SELECT 1 FROM otpreset_users WHERE tenant_id = $21 AND id = $5)
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

// clearedCounters are the SET items of a phone's row with its counters
// cleared (every network forgotten, the budget whole).
const clearedCounters = `nets = '{}', nets_n = 0, budget_at = NULL`

// resetFast runs resetSQL alone, one round trip: the statement is atomic
// without BEGIN and COMMIT. ok=false (and nothing changed) means the code
// was not consumed; the caller's general path then counts or explains it.
// Only when a test hook (AfterConsume) must run between the statement and
// the commit does it open a transaction (BEGIN, statement, hook, COMMIT).
// Should the user vanish between the statement's check and its update (a
// concurrent delete), the code is spent and the error wraps ErrNotFound.
// outboxColumns are the outbox messages as the reset statement's arrays.
func outboxColumns(msgs []store.OutboxMessage) (ids, tenants, payloads []string, created []time.Time, err error) {
	n := len(msgs)
	ids, tenants, payloads, created = make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for i, m := range msgs {
		if !json.Valid(m.Payload) {
			return nil, nil, nil, nil, errors.New("postgres: outbox payload is not valid JSON")
		}
		ids[i], tenants[i], payloads[i], created[i] = m.ID, m.TenantID, string(m.Payload), m.CreatedAt
	}
	return ids, tenants, payloads, created, nil
}

func resetFast(ctx context.Context, s *sqlcore.Store, r store.Reset) (ok bool, err error) {
	if s.Host != nil {
		return hostResetFast(ctx, s, r)
	}
	db := s.DB.(*pgDB)
	c, ch := r.Check, r.Change
	var profile any
	if ch.Profile != nil {
		p, err := s.ValidProfile(ch.Profile)
		if err != nil {
			return false, err
		}
		profile = p
	}
	var sess store.Session
	if r.NewSession != nil {
		sess = *r.NewSession
	}
	ids, tenants, payloads, created, err := outboxColumns(r.Outbox)
	if err != nil {
		return false, err
	}
	apply := func(q pgxQuerier) error {
		var consumed, changed bool
		err := q.QueryRow(ctx, resetSQL,
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
		if s.AfterConsume != nil {
			if err := s.AfterConsume(ctx, pgQ{q}); err != nil {
				return err
			}
		}
		return nil
	}
	if s.AfterConsume == nil {
		err = apply(db.pool)
	} else {
		err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return apply(tx) })
	}
	switch {
	case errors.Is(err, errNotConsumed):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("postgres: reset: %w", err)
	}
	return true, nil
}

var errNotConsumed = errors.New("code not consumed")
