package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/storetest"
)

// backend opens a fresh, migrated, empty Store of one dialect. setup, when
// not empty, is SQL run before the store is returned (a host's table).
type backend struct {
	name string
	open func(t testing.TB, cfg Config, setup string) *Store
}

func backends() []backend {
	return []backend{{"sqlite", newSQLite}, {"postgres", newPostgres}}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newSQLite returns a migrated store on a new file in t.TempDir().
func newSQLite(t testing.TB, cfg Config, setup string) *Store {
	t.Helper()
	cfg = quiet(cfg)
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "otpreset.db"), cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.NoError(t, s.Migrate(testCtx(t)))
	if setup != "" {
		_, err := s.db.exec(testCtx(t), setup)
		require.NoError(t, err)
	}
	return s
}

// pgSchemaURL creates a schema with a random name, drops it when the test
// ends, and returns a connection string whose search_path is that schema, so
// every test has its own tables.
func pgSchemaURL(t testing.TB) string {
	t.Helper()
	base := storetest.ServerURL(t, storetest.PostgresURLEnv)
	admin := adminPool(t, base)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "otpreset_test_" + hex.EncodeToString(b)
	_, err := admin.Exec(testCtx(t), "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		return strings.TrimSpace(base) + " search_path=" + schema // keyword/value form
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

var admin struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

// adminPool is one pool shared by the tests to create and drop their
// schemas (connecting is the slowest part of a test's setup).
func adminPool(t testing.TB, base string) *pgxpool.Pool {
	t.Helper()
	admin.once.Do(func() {
		admin.pool, admin.err = pgxpool.New(context.Background(), base)
	})
	require.NoError(t, admin.err)
	return admin.pool
}

func TestMain(m *testing.M) {
	code := m.Run()
	if admin.pool != nil {
		admin.pool.Close()
	}
	os.Exit(code)
}

// newPostgres returns a migrated store in a schema of its own.
func newPostgres(t testing.TB, cfg Config, setup string) *Store {
	t.Helper()
	cfg = quiet(cfg)
	u := pgSchemaURL(t)
	s, err := OpenPostgres(testCtx(t), u, cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.NoError(t, s.Migrate(testCtx(t)))
	if setup != "" {
		_, err := s.db.exec(testCtx(t), setup)
		require.NoError(t, err)
	}
	return s
}

// newPostgresPool is newPostgres over a pool the test configures (a tracer).
func newPostgresPool(t *testing.T, configure func(*pgxpool.Config)) *Store {
	t.Helper()
	pc, err := pgxpool.ParseConfig(pgSchemaURL(t))
	require.NoError(t, err)
	configure(pc)
	pool, err := pgxpool.NewWithConfig(testCtx(t), pc)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s := NewPostgres(pool, quiet(Config{}))
	require.NoError(t, s.Migrate(testCtx(t)))
	return s
}

// A host's users table, unlike otpreset_users in every name, with the
// queries that adapt it. The same SQL serves both dialects.
const (
	hostTable = `CREATE TABLE app_accounts (
		org        TEXT NOT NULL,
		account_id TEXT NOT NULL,
		mobile     TEXT NOT NULL,
		pw         TEXT NOT NULL,
		attrs      %s,
		pw_changed TEXT,
		PRIMARY KEY (org, account_id),
		UNIQUE (org, mobile)
	)`
	hostUserByPhone    = `SELECT account_id, pw, attrs FROM app_accounts WHERE org = @tenant_id AND mobile = @phone`
	hostUpdatePassword = `UPDATE app_accounts SET pw = @password_hash, attrs = @profile, pw_changed = @changed_at
		WHERE org = @tenant_id AND account_id = @user_id`
	hostAddUser = `INSERT INTO app_accounts (org, account_id, mobile, pw, attrs)
		VALUES (@tenant_id, @user_id, @phone, @password_hash, @profile)
		ON CONFLICT (org, mobile) DO UPDATE SET account_id = excluded.account_id, pw = excluded.pw, attrs = excluded.attrs`
)

func hostSetup(dialect string) string {
	if dialect == "postgres" {
		return strings.Replace(hostTable, "%s", "jsonb", 1)
	}
	return strings.Replace(hostTable, "%s", "TEXT", 1)
}

func hostUsers() *HostUsers {
	return &HostUsers{UserByPhone: hostUserByPhone, UpdatePassword: hostUpdatePassword, AddUser: hostAddUser}
}

// storeOf adapts a backend to storetest's newStore.
func storeOf(b backend, cfg func() Config, setup string) func(t *testing.T) store.Store {
	return func(t *testing.T) store.Store { return b.open(t, cfg(), setup) }
}

// quiet sends the store's logs nowhere unless the test chose a logger.
func quiet(cfg Config) Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}
