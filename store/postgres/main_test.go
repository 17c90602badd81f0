package postgres

import (
	"testing"

	"github.com/otpreset/go/internal/servertest"
)

// TestMain says in one line when tests skipped for want of PostgreSQL.
func TestMain(m *testing.M) { servertest.Main(m, "store/postgres") }
