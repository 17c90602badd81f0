package otpreset_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/postgres"
	"github.com/otpreset/go/store/sqlite"
)

// BenchmarkResetKnownVsUnknown measures what an attacker would: wrong-code
// resets for a known phone whose user has a 16 KB profile and for an
// unknown phone, interleaved (so drift in the machine hits both alike), on
// the SQL stores, where the unknown phone once skipped a query (SQLite
// medians 0.51 vs 0.38 ms) and the known one then fetched the user's whole
// profile (1,267 vs 1,028 µs on PostgreSQL). A wrong code now reads the
// code and the counters only (TestUnknownPhoneSameStoreWork pins that no
// user is read). It reports both medians and their ratio; run it with
// -benchtime=2000x for 1,000 pairs.
func BenchmarkResetKnownVsUnknown(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db, err := sqlite.Open(filepath.Join(b.TempDir(), "timing.db"))
		require.NoError(b, err)
		b.Cleanup(func() { _ = db.Close() })
		st := sqlite.New(db, sqlite.Config{})
		require.NoError(b, st.Migrate(context.Background()))
		benchKnownVsUnknown(b, st)
	})
	b.Run("postgres", func(b *testing.B) {
		ctx := context.Background()
		st, err := postgres.Open(ctx, pgSchema(b), postgres.Config{})
		require.NoError(b, err)
		b.Cleanup(st.Close)
		require.NoError(b, st.Migrate(ctx))
		benchKnownVsUnknown(b, st)
	})
}

func benchKnownVsUnknown(b *testing.B, st store.Store) {
	env := otpresettest.New(b, otpresettest.WithStore(st), func(c *otpreset.Config, tn *otpreset.Tenant) {
		noRateLimits(c, tn)
		tn.Limits.LockoutAttempts = 1 << 30
		tn.Limits.GuessBudget = "off"
	})
	big := env.AddUser(phone, oldPass)
	big.Phone, big.ID = "+919999999991", "user-with-a-16kb-profile"
	big.Profile = json.RawMessage(`{"Uid":"` + big.ID + `","Bio":"` + strings.Repeat("x", 16<<10) + `"}`)
	require.NoError(b, env.Store.(otpresettest.UserSeeder).AddUser(context.Background(), big))
	phone := big.Phone
	unknown := "+14155550188"
	env.Send(phone)
	env.Send(unknown)
	var known, other []time.Duration
	for i := 0; b.Loop(); i++ {
		p, into := phone, &known
		if i%2 == 1 {
			p, into = unknown, &other
		}
		start := time.Now()
		rec := env.Reset(p, "000000", newPass)
		*into = append(*into, time.Since(start))
		if rec.Code != 401 {
			b.Fatalf("%s: %d %s", p, rec.Code, rec.Body)
		}
	}
	if len(known) == 0 || len(other) == 0 {
		return
	}
	mk, mu := median(known), median(other)
	b.ReportMetric(float64(mk.Microseconds()), "known-median-µs")
	b.ReportMetric(float64(mu.Microseconds()), "unknown-median-µs")
	b.ReportMetric(float64(mu)/float64(mk), "unknown/known")
}
