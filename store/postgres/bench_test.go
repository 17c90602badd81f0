package postgres

import (
	"testing"

	"github.com/otpreset/go/store/internal/sqltest"
)

// BenchmarkReset is a successful reset with its code saved first.
func BenchmarkReset(b *testing.B) { sqltest.BenchReset(b, backend) }

// BenchmarkCounters is a send, a counted wrong code and a refused one.
func BenchmarkCounters(b *testing.B) { sqltest.BenchCounters(b, backend) }
