package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go)

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
// (@name, passed as sql.Named; SQLite also accepts :name and $name); a
// query may leave out parameters it has no use for (a single-tenant host
// ignores @tenant_id, a table without a profile column ignores @profile).
// Inside Reset the statements run in the same transaction as the code's
// consumption, so a failure anywhere rolls the whole reset back.
//
//   - UserByPhone, required: at most one row of three columns, the user's
//     id (text or integer), password hash (text) and profile (a JSON object
//     as text). A table without a profile column selects NULL: its users
//     then read with a minimal profile, Uid and ID the id, PhoneId the
//     phone, IsActive and PhoneIdVerified true, LoginLockedType "None".
//     Parameters: @tenant_id, @phone.
//   - UpdatePassword, required: changes exactly one row, the user's
//     password hash (and profile, if the table keeps one). No row is
//     store.ErrNotFound; more than one is an error, and the change (the
//     whole reset) is rolled back. Parameters: @tenant_id, @user_id (text: SQLite
//     compares it with an INTEGER id column by the column's affinity),
//     @password_hash, @profile (JSON text), @changed_at (time.Time).
//   - AddUser, optional: inserts or replaces a user; only Store.AddUser (the
//     conformance suite, otpresettest) uses it. Parameters: @tenant_id,
//     @user_id, @phone, @password_hash, @profile. A table whose ids the
//     database assigns (INTEGER PRIMARY KEY) leaves @user_id out.
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

// Store is a store.Store over SQLite. It implements store.Store,
// store.CodeIssuer, store.Resetter, store.Outbox and storetest.UserSeeder.
// Create it with New, call Migrate once. It is safe for concurrent use.
type Store struct {
	core *sqlcore.Store
	db   *sql.DB
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// BusyTimeout is the busy timeout Open sets: how long a write waits for
// another connection's write lock before failing with SQLITE_BUSY.
const BusyTimeout = 10 * time.Second

// Open opens (creating if needed) the SQLite database file at path with
// modernc.org/sqlite and sets, explicitly, what a durable store wants: the
// WAL journal (a persistent property of the file: every later connection
// uses it too), synchronous=FULL, a busy timeout of BusyTimeout, and one
// connection. The database is the caller's to close. A host that already
// has a *sql.DB passes it to New instead and keeps its own settings.
func Open(path string) (*sql.DB, error) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	dsn := path + sep + fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)",
		BusyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	ctx, cancel := context.WithTimeout(context.Background(), BusyTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	return db, nil
}

// New returns a Store over the host's database, which stays the host's:
// New changes none of its settings and the Store never closes it. The
// package documentation says what the database should be set to (a busy
// timeout; WAL recommended). It does not change the schema: call Migrate.
// A HostUsers without UserByPhone or UpdatePassword is refused by Migrate
// and Check, and every user lookup fails, naming the missing field.
func New(db *sql.DB, cfg Config) *Store {
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded above: cannot happen
	}
	d := sqlcore.Dialect{
		Name: "sqlite",
		Time: func(t time.Time) any { return t.UnixNano() },
		Named: func(m map[string]any) []any {
			args := make([]any, 0, len(m))
			for k, v := range m {
				args = append(args, sql.Named(k, v))
			}
			return args
		},
		Purge: []string{
			`DELETE FROM otpreset_challenges WHERE rowid IN (
				SELECT rowid FROM otpreset_challenges WHERE expires_at <= $1 LIMIT $2)`,
			`DELETE FROM otpreset_network_counters WHERE rowid IN (
				SELECT rowid FROM otpreset_network_counters WHERE forget_at <= $1 LIMIT $2)`,
			`DELETE FROM otpreset_phone_budget WHERE rowid IN (
				SELECT rowid FROM otpreset_phone_budget WHERE budget_at <= $1 LIMIT $2)`,
		},
		ClearCounters: []string{
			`DELETE FROM otpreset_network_counters WHERE tenant_id = $1 AND phone = $2`,
			`DELETE FROM otpreset_phone_budget WHERE tenant_id = $1 AND phone = $2`,
		},
		Forgotten: []string{
			`DELETE FROM otpreset_challenges WHERE expires_at <= $1`,
			`DELETE FROM otpreset_network_counters WHERE forget_at <= $1`, // state every step treats as zero
			`DELETE FROM otpreset_phone_budget WHERE budget_at <= $1`,     // a whole budget, as if never used
		},
		Migrations: migrations, // the write lock of BEGIN IMMEDIATE serialises Migrate
	}
	return &Store{core: sqlcore.New(&stdDB{stdQ: stdQ{db}, db: db}, d, cfg.core()), db: db}
}

// paramPrefixes start a named parameter in SQLite.
const paramPrefixes = "@:$"

// describe prepares query with sqlite3_prepare, which parses it and
// resolves its tables and columns without running it. database/sql cannot
// tell a prepared statement's columns: -1.
func (s *Store) describe(ctx context.Context, query string) (int, error) {
	stmt, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return 0, err
	}
	return -1, stmt.Close()
}

// --- database/sql under the shared SQL ---

type stdQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type stdQ struct{ q stdQuerier }

func (s stdQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s stdQ) QueryRow(ctx context.Context, query string, args ...any) sqlcore.Row {
	return s.q.QueryRowContext(ctx, query, args...)
}

func (s stdQ) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	rows, err := s.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return stdRows{rows}, nil
}

type stdRows struct{ *sql.Rows }

func (r stdRows) Close() { _ = r.Rows.Close() }

type stdDB struct {
	stdQ
	db *sql.DB
}

// InTx runs fn in a BEGIN IMMEDIATE transaction on one connection held for
// it. database/sql's BeginTx cannot ask for IMMEDIATE, and a deferred
// transaction that reads before it writes can fail with SQLITE_BUSY without
// waiting when another connection wrote meanwhile; taking the write lock up
// front makes the busy timeout apply and the transaction never need an
// upgrade.
func (d *stdDB) InTx(ctx context.Context, fn func(q sqlcore.Querier) error) (err error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err == nil {
			return
		}
		// Rolled back even when ctx is done, so the connection goes back to
		// the pool outside any transaction. An interrupted write has already
		// been rolled back by SQLite itself ("no transaction is active").
		_, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		if rbErr != nil && !strings.Contains(rbErr.Error(), "no transaction is active") {
			err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			// Never hand a connection of unknown state back to the pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if err := fn(stdQ{conn}); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
