package storetest

import (
	"context"
	"encoding/hex"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresSchema creates a PostgreSQL schema with a random name on the
// server at url (a pgx connection string, URL or keyword/value form), drops
// it with everything in it when the test ends, and returns url with the
// schema as its search_path. Every connection opened with the result
// (postgres.Open, pgxpool.New, sql.Open("pgx", ...)) creates and finds its
// tables there, so tests run in parallel on one database without seeing
// each other's tables:
//
//	func TestConformance(t *testing.T) {
//		url := os.Getenv("DATABASE_URL")
//		if url == "" {
//			t.Skip("DATABASE_URL is not set")
//		}
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := postgres.Open(t.Context(), storetest.PostgresSchema(t, url), postgres.Config{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(s.Close)
//			if err := s.Migrate(t.Context()); err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The user in url needs the CREATE privilege on the database. An empty url
// fails the test: whether a missing server skips or fails is the caller's
// choice.
func PostgresSchema(t testing.TB, url string) string {
	t.Helper()
	if strings.TrimSpace(url) == "" {
		t.Fatal("storetest.PostgresSchema: empty connection string")
	}
	pool := adminPool(t, url)
	schema := "otpreset_test_" + hex.EncodeToString(randomBytes(t, 6))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("storetest.PostgresSchema: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("storetest.PostgresSchema: drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(url, schema)
}

// withSearchPath sets search_path in a connection string of either form.
func withSearchPath(conn, schema string) string {
	u, err := url.Parse(conn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return strings.TrimSpace(conn) + " search_path=" + schema // keyword/value form
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// admins holds one pool per server URL, shared by the tests of a process to
// create and drop their schemas (connecting is the slowest part of a test's
// setup). The pools live as long as the test process.
var admins struct {
	sync.Mutex
	pools map[string]*pgxpool.Pool
}

func adminPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	admins.Lock()
	defer admins.Unlock()
	if p, ok := admins.pools[url]; ok {
		return p
	}
	p, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("storetest.PostgresSchema: %v", err)
	}
	if admins.pools == nil {
		admins.pools = map[string]*pgxpool.Pool{}
	}
	admins.pools[url] = p
	return p
}
