package storetest_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/internal/servertest"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/postgres"
	"github.com/otpreset/go/store/storetest"
)

// A host's conformance test on PostgreSQL: a fresh schema per store.
func ExamplePostgresSchema() {
	conformance := func(t *testing.T) {
		url := os.Getenv("DATABASE_URL")
		if url == "" {
			t.Skip("DATABASE_URL is not set")
		}
		storetest.Run(t, func(t *testing.T) store.Store {
			s, err := postgres.Open(t.Context(), storetest.PostgresSchema(t, url), postgres.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			return s
		})
	}
	_ = conformance // in a _test.go file: func TestConformance(t *testing.T) { ... }
}

// TestPostgresSchema: the URL it returns puts new tables in a schema of the
// test's own (in both forms of connection string), two calls never share
// one, and the schema is gone once the test ends.
func TestPostgresSchema(t *testing.T) {
	base := servertest.URL(t, servertest.PostgresURLEnv)
	cfg, err := pgx.ParseConfig(base)
	require.NoError(t, err)
	keywords := "host=" + cfg.Host + " port=" + strconv.Itoa(int(cfg.Port)) + " user=" + cfg.User +
		" dbname=" + cfg.Database + " sslmode=disable"
	if cfg.Password != "" {
		keywords += " password=" + cfg.Password
	}
	ctx := context.Background()
	var schemas []string
	for _, form := range []struct{ name, url string }{{"url", base}, {"keyword/value", keywords}} {
		t.Run(form.name, func(t *testing.T) {
			var seen []string
			for range 2 {
				url := storetest.PostgresSchema(t, form.url)
				conn, err := pgx.Connect(ctx, url)
				require.NoError(t, err)
				var schema string
				require.NoError(t, conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema))
				require.True(t, strings.HasPrefix(schema, "otpreset_test_"), "search_path set: %q", schema)
				_, err = conn.Exec(ctx, `CREATE TABLE t (x int)`)
				require.NoError(t, err, "the same table name in each schema")
				var where string
				require.NoError(t, conn.QueryRow(ctx, `SELECT table_schema FROM information_schema.tables WHERE table_name = 't' AND table_schema = $1`, schema).Scan(&where))
				require.NoError(t, conn.Close(ctx))
				seen = append(seen, schema)
			}
			assert.NotEqual(t, seen[0], seen[1])
			schemas = append(schemas, seen...)
		})
	}
	conn, err := pgx.Connect(ctx, base)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var left int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name = ANY($1)`, schemas).Scan(&left))
	assert.Zero(t, left, "the schemas of finished tests are dropped")
	require.Len(t, schemas, 4)
}
