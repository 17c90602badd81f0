// Package pgtest gives each PostgreSQL test of this repository a schema of
// its own on the server named by servertest.PostgresURLEnv (see
// storetest.PostgresSchema), so tests run in parallel on one database
// without seeing each other's tables.
package pgtest

import (
	"testing"

	"github.com/otpreset/go/internal/servertest"
	"github.com/otpreset/go/store/storetest"
)

// SchemaURL creates a schema with a random name, drops it when the test
// ends, and returns a connection string whose search_path is that schema.
// Without the server it skips the test (fails it in CI; see servertest.URL).
func SchemaURL(t testing.TB) string {
	t.Helper()
	return storetest.PostgresSchema(t, servertest.URL(t, servertest.PostgresURLEnv))
}
