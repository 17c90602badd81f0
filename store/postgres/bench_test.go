package postgres

import (
	"testing"

	"github.com/otpreset/go/store/internal/sqltest"
)

// BenchmarkReset is a successful reset with its code saved first.
func BenchmarkReset(b *testing.B) { sqltest.BenchReset(b, backend) }
