// Package pgtest gives each PostgreSQL test a schema of its own on the
// server named by storetest.PostgresURLEnv, so tests run in parallel on one
// database without seeing each other's tables.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpreset/go/store/storetest"
)

// SchemaURL creates a schema with a random name, drops it when the test
// ends, and returns a connection string whose search_path is that schema.
// Without the server it skips the test (fails it in CI; see
// storetest.ServerURL).
func SchemaURL(t testing.TB) string {
	t.Helper()
	base := storetest.ServerURL(t, storetest.PostgresURLEnv)
	pool := adminPool(t, base)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "otpreset_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
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

// adminPool is one pool shared by the tests of a process to create and drop
// their schemas (connecting is the slowest part of a test's setup). It lives
// as long as the test process.
func adminPool(t testing.TB, base string) *pgxpool.Pool {
	t.Helper()
	admin.once.Do(func() {
		admin.pool, admin.err = pgxpool.New(context.Background(), base)
	})
	if admin.err != nil {
		t.Fatalf("pgtest: %v", admin.err)
	}
	return admin.pool
}
