package postgres

import (
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // a database/sql driver that is not pgx's

	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/internal/pgtest"
	"github.com/otpreset/go/store/internal/sqlcore"
	"github.com/otpreset/go/store/internal/sqltest"
)

// sqlDB opens url with database/sql and pgx's driver, as a host does.
func sqlDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestNewFromDB: a store made from a host's *sql.DB serves a reset through
// otpreset's handler, works in the database and schema db's connections use
// (here a search_path in the URL), leaves db open when it closes, accepts a
// db made from a pgx pool, and refuses a db of another driver. (It is the
// Store of New over a pool of its own: the conformance suite runs on New.)
func TestNewFromDB(t *testing.T) {
	t.Parallel()
	quiet := fromCore(sqltest.Quiet(sqlcore.Config{}))
	t.Run("a reset through otpreset", func(t *testing.T) {
		t.Parallel()
		s, err := NewFromDB(sqltest.Ctx(t), sqlDB(t, pgtest.SchemaURL(t)), quiet)
		require.NoError(t, err)
		t.Cleanup(s.Close)
		require.NoError(t, s.Migrate(sqltest.Ctx(t)))
		require.NoError(t, s.Check(sqltest.Ctx(t)))
		env := otpresettest.New(t, otpresettest.WithStore(s))
		env.AddUser("+919999999999", "old password 1")
		require.Equal(t, http.StatusOK, env.Send("+919999999999").Code)
		rec := env.Reset("+919999999999", env.Code("+919999999999"), "new password 1")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.True(t, env.PasswordWorks("+919999999999", "new password 1"))
		rec = env.Reset("+919999999999", env.Code("+919999999999"), "new password 2")
		assert.Equal(t, http.StatusUnauthorized, rec.Code, "the code is spent")
	})
	t.Run("the host's database and schema", func(t *testing.T) {
		t.Parallel()
		ctx := sqltest.Ctx(t)
		db := sqlDB(t, pgtest.SchemaURL(t))
		_, err := db.ExecContext(ctx, backend.UsersSetup())
		require.NoError(t, err)
		cfg := quiet
		cfg.HostUsers = sqltest.UsersQueries()
		s, err := NewFromDB(ctx, db, cfg)
		require.NoError(t, err)
		require.NoError(t, s.Migrate(ctx))
		require.NoError(t, s.Check(ctx))
		require.NoError(t, s.AddUser(ctx, store.User{Phone: "+15550100", PasswordHash: "h"}))
		var hash string
		require.NoError(t, db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE phone = '+15550100'`).Scan(&hash))
		assert.Equal(t, "h", hash, "the store wrote the host's table, in the host's schema")
		var tables int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_name LIKE 'otpreset_%'`).Scan(&tables))
		assert.Equal(t, 4, tables, "Migrate created otpreset's tables where db's connections look (challenges with their counters, sessions, outbox, migrations)")

		s.Close()
		require.NoError(t, db.PingContext(ctx), "db stays open for the host")
		_, err = s.UserByPhone(ctx, "t", "+15550100")
		require.Error(t, err, "the store's own pool is closed")
	})
	t.Run("a db made from a pgx pool", func(t *testing.T) {
		t.Parallel()
		pool, err := pgxpool.New(sqltest.Ctx(t), pgtest.SchemaURL(t))
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		db := stdlib.OpenDBFromPool(pool)
		t.Cleanup(func() { _ = db.Close() })
		s, err := NewFromDB(sqltest.Ctx(t), db, quiet)
		require.NoError(t, err)
		t.Cleanup(s.Close)
		require.NoError(t, s.Migrate(sqltest.Ctx(t)))
		require.NoError(t, s.Check(sqltest.Ctx(t)))
	})
	t.Run("another driver", func(t *testing.T) {
		db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "x.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		_, err = NewFromDB(sqltest.Ctx(t), db, quiet)
		require.ErrorContains(t, err, "not pgx's")
		require.ErrorContains(t, err, "postgres.Open")
	})
	t.Run("incomplete HostUsers", func(t *testing.T) {
		db := sqlDB(t, "postgres://nobody@127.0.0.1:1/none")
		_, err := NewFromDB(sqltest.Ctx(t), db, Config{HostUsers: &HostUsers{UserByPhone: "SELECT 1"}})
		require.ErrorIs(t, err, store.ErrNotReady)
		require.ErrorContains(t, err, "HostUsers.UpdatePassword is empty")
	})
}
