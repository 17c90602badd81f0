package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/internal/sqlcore"
	"github.com/otpreset/go/store/internal/sqltest"
	"github.com/otpreset/go/store/storetest"
)

var (
	_ store.Store          = (*Store)(nil)
	_ store.Resetter       = (*Store)(nil)
	_ store.Outbox         = (*Store)(nil)
	_ store.CodeIssuer     = (*Store)(nil)
	_ storetest.UserSeeder = (*Store)(nil)
)

// fromCore is the adapter's Config for the shared tests' one.
func fromCore(c sqlcore.Config) Config {
	return Config{HostUsers: c.HostUsers, Logger: c.Logger, Now: c.Now}
}

// handle opens path with Open, closed when the test ends.
func handle(t testing.TB, path string, cfg sqlcore.Config) *Store {
	t.Helper()
	db, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return New(db, fromCore(cfg))
}

var backend = sqltest.Backend{
	Name: "sqlite",
	Handles: func(t testing.TB) func(cfg sqlcore.Config) (store.Store, *sqlcore.Store) {
		path := filepath.Join(t.TempDir(), "otpreset.db")
		return func(cfg sqlcore.Config) (store.Store, *sqlcore.Store) {
			s := handle(t, path, cfg)
			return s, s.core
		}
	},
	JSON:        "TEXT",
	SerialID:    "INTEGER PRIMARY KEY",
	Tables:      `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`,
	StateTables: []string{"otpreset_challenges", "otpreset_network_counters", "otpreset_phone_budget"},
}

func TestConformance(t *testing.T) {
	t.Parallel()
	sqltest.Conformance(t, backend)
}

func TestResetFault(t *testing.T) {
	t.Parallel()
	sqltest.ResetFault(t, backend)
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	sqltest.Migrate(t, backend)
}

func TestCountersMatchReference(t *testing.T) {
	t.Parallel()
	sqltest.CountersMatchReference(t, backend)
}

func TestConcurrentCounters(t *testing.T) {
	t.Parallel()
	sqltest.ConcurrentCounters(t, backend)
}

func TestPurge(t *testing.T) {
	t.Parallel()
	sqltest.Purge(t, backend)
}

func TestUpgradeFromV3(t *testing.T) {
	t.Parallel()
	sqltest.UpgradeFromV3(t, backend)
}

func TestCheckCodeReadsNoUsers(t *testing.T) {
	t.Parallel()
	sqltest.CheckCodeReadsNoUsers(t, backend)
}

func TestDeleteExpired(t *testing.T) {
	t.Parallel()
	sqltest.DeleteExpired(t, backend)
}

func TestInvalidJSONRejected(t *testing.T) {
	t.Parallel()
	sqltest.InvalidJSONRejected(t, backend)
}

func TestHostUsersIntegerIDs(t *testing.T) {
	t.Parallel()
	sqltest.HostUsersIntegerIDs(t, backend)
}

func TestBrokenHostAdapters(t *testing.T) {
	sqltest.BrokenHostAdapters(t, backend)
}

// TestTwoHandlesSingleUse runs the concurrent consume across two stores on
// one file, as two processes would: the write lock and the busy timeout
// must still let exactly one win.
func TestTwoHandlesSingleUse(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	var stores []*Store
	for range 2 {
		s := handle(t, path, sqltest.Quiet(sqlcore.Config{}))
		require.NoError(t, s.Migrate(sqltest.Ctx(t)))
		stores = append(stores, s)
	}
	ctx := sqltest.Ctx(t)
	now := time.Now().UTC()
	c := store.Challenge{TenantID: "t", Phone: "+15550100", CodeHash: []byte("right"), CreatedAt: now,
		ExpiresAt: now.Add(time.Minute), MaxAttempts: 3}
	_, err := stores[0].IssueChallenge(ctx, store.Issue{Challenge: c})
	require.NoError(t, err)

	const n = 200
	var wg sync.WaitGroup
	var ok, used atomic.Int32
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			err := stores[i%2].ConsumeChallenge(ctx, store.CodeCheck{TenantID: "t", Phone: "+15550100", CodeHash: c.CodeHash, Now: now})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, store.ErrChallengeUsed):
				used.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load())
	assert.Equal(t, int32(n-1), used.Load())
}

// TestNewKeepsTheHostsSettings: New and Migrate leave the journal mode as
// the host set it.
func TestNewKeepsTheHostsSettings(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "host.db")
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(DELETE)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	s := New(db, fromCore(sqltest.Quiet(sqlcore.Config{})))
	require.NoError(t, s.Migrate(sqltest.Ctx(t)))
	var mode string
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	assert.Equal(t, "delete", mode, "the store must not switch the host's journal mode")
	require.NoError(t, db.Ping(), "the store must not close the host's database")
}

func TestCheck(t *testing.T) {
	t.Parallel()
	sqltest.Check(t, backend)
}

// TestCheckUnreachable: a closed database is not ready.
func TestCheckUnreachable(t *testing.T) {
	t.Parallel()
	db, err := Open(filepath.Join(t.TempDir(), "closed.db"))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	err = New(db, Config{}).Check(sqltest.Ctx(t))
	require.ErrorIs(t, err, store.ErrNotReady)
	require.ErrorContains(t, err, "database unreachable")
}

func TestMoreThanOneRow(t *testing.T) {
	t.Parallel()
	sqltest.MoreThanOneRow(t, backend)
}

func TestProfileWithoutColumn(t *testing.T) {
	t.Parallel()
	sqltest.ProfileWithoutColumn(t, backend)
}
