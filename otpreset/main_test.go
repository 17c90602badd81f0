package otpreset_test

import (
	"testing"

	"github.com/otpreset/go/internal/servertest"
)

// TestMain says in one line when the multi-instance tests skipped for want
// of PostgreSQL or Redis.
func TestMain(m *testing.M) { servertest.Main(m, "otpreset") }
