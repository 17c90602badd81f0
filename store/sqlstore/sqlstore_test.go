package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/storetest"
)

var (
	_ store.Store          = (*Store)(nil)
	_ store.Resetter       = (*Store)(nil)
	_ store.Outbox         = (*Store)(nil)
	_ storetest.UserSeeder = (*Store)(nil)
)

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			t.Run("OwnUsers", func(t *testing.T) {
				t.Parallel()
				storetest.Run(t, storeOf(b, func() Config { return Config{} }, ""))
			})
			t.Run("HostUsers", func(t *testing.T) {
				t.Parallel()
				storetest.Run(t, storeOf(b, func() Config { return Config{HostUsers: hostUsers()} }, hostSetup(b.name)))
			})
		})
	}
}

var errInjected = errors.New("injected fault")

// TestResetFault injects a fault after the code is consumed inside Reset's
// transaction, and checks nothing stayed done: old password hash, sessions
// kept, no outbox, and the code still usable.
func TestResetFault(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		for _, host := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/hostUsers=%v", b.name, host), func(t *testing.T) {
				open := func(t *testing.T) *Store {
					if host {
						return b.open(t, Config{HostUsers: hostUsers()}, hostSetup(b.name))
					}
					return b.open(t, Config{}, "")
				}
				t.Run("hook fails after consume", func(t *testing.T) {
					s := open(t)
					var calls atomic.Int32
					err := storetest.ResetFault(t, s, func(*testing.T) func() {
						s.afterConsume = func(context.Context, querier) error {
							calls.Add(1)
							return errInjected
						}
						return func() { s.afterConsume = nil }
					})
					require.ErrorIs(t, err, errInjected)
					assert.Equal(t, int32(1), calls.Load(), "the fault must strike once, after the consume")
				})
				t.Run("context cancelled after consume", func(t *testing.T) {
					s := open(t)
					err := storetest.ResetFault(t, s, func(*testing.T) func() {
						s.afterConsume = func(ctx context.Context, q querier) error {
							ctx, cancel := context.WithCancel(ctx)
							cancel()
							_, err := q.exec(ctx, "SELECT 1")
							return err
						}
						return func() { s.afterConsume = nil }
					})
					require.ErrorIs(t, err, context.Canceled)
				})
				if host {
					t.Run("host update query fails", func(t *testing.T) {
						s := open(t)
						err := storetest.ResetFault(t, s, func(*testing.T) func() {
							good := s.host.UpdatePassword
							s.host.UpdatePassword = `UPDATE app_accounts SET no_such_column = @password_hash WHERE org = @tenant_id`
							return func() { s.host.UpdatePassword = good }
						})
						require.Error(t, err)
						require.NotErrorIs(t, err, store.ErrNotFound)
					})
				}
				if b.name == "postgres" {
					t.Run("connection killed after consume", func(t *testing.T) {
						s := open(t)
						err := storetest.ResetFault(t, s, func(*testing.T) func() {
							s.afterConsume = func(ctx context.Context, q querier) error {
								_, err := q.exec(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
								return err
							}
							return func() { s.afterConsume = nil }
						})
						require.ErrorContains(t, err, "terminating connection")
					})
				}
			})
		}
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Run("idempotent", func(t *testing.T) {
				s := b.open(t, Config{}, "") // migrated once
				ctx := testCtx(t)
				latest := s.LatestSchemaVersion()
				require.Positive(t, latest)
				require.NoError(t, s.Migrate(ctx))
				require.NoError(t, s.Migrate(ctx))
				v, err := s.SchemaVersion(ctx)
				require.NoError(t, err)
				assert.Equal(t, latest, v)
				ms, err := migrationsFor(b.name)
				require.NoError(t, err)
				var n int
				require.NoError(t, s.db.queryRow(ctx, `SELECT count(*) FROM otpreset_schema_migrations`).Scan(&n))
				assert.Equal(t, len(ms), n, "each migration recorded once")
				// The schema works after the repeated calls.
				require.NoError(t, s.AddUser(ctx, store.User{TenantID: "t", ID: "u", Phone: "+15550100", PasswordHash: "h"}))
			})
			t.Run("only on request, prefixed tables", func(t *testing.T) {
				var s *Store
				switch b.name {
				case "sqlite":
					var err error
					s, err = OpenSQLite(t.TempDir()+"/fresh.db", quiet(Config{}))
					require.NoError(t, err)
				default:
					var err error
					s, err = OpenPostgres(testCtx(t), pgSchemaURL(t), quiet(Config{}))
					require.NoError(t, err)
				}
				t.Cleanup(s.Close)
				ctx := testCtx(t)
				assert.Empty(t, tableNames(t, s), "opening must not create tables")
				_, err := s.UserByPhone(ctx, "t", "+15550100")
				require.Error(t, err)
				require.NotErrorIs(t, err, store.ErrNotFound, "a missing table is a fault, not a missing user")
				_, err = s.SchemaVersion(ctx)
				require.Error(t, err)

				require.NoError(t, s.Migrate(ctx))
				names := tableNames(t, s)
				assert.ElementsMatch(t, []string{"otpreset_challenges", "otpreset_outbox", "otpreset_schema_migrations",
					"otpreset_sessions", "otpreset_users"}, names)
			})
			t.Run("concurrent", func(t *testing.T) {
				var open func() *Store
				switch b.name {
				case "sqlite":
					path := t.TempDir() + "/concurrent.db"
					open = func() *Store {
						s, err := OpenSQLite(path, quiet(Config{}))
						require.NoError(t, err)
						t.Cleanup(s.Close)
						return s
					}
				default:
					u := pgSchemaURL(t)
					open = func() *Store {
						s, err := OpenPostgres(testCtx(t), u, quiet(Config{}))
						require.NoError(t, err)
						t.Cleanup(s.Close)
						return s
					}
				}
				stores := []*Store{open(), open(), open(), open()} // as if four processes started at once
				var wg sync.WaitGroup
				errs := make([]error, len(stores))
				for i, s := range stores {
					wg.Go(func() { errs[i] = s.Migrate(testCtx(t)) })
				}
				wg.Wait()
				for _, err := range errs {
					require.NoError(t, err)
				}
				var n int
				require.NoError(t, stores[0].db.queryRow(testCtx(t), `SELECT count(*) FROM otpreset_schema_migrations`).Scan(&n))
				assert.Equal(t, stores[0].LatestSchemaVersion(), n)
			})
		})
	}
}

func tableNames(t *testing.T, s *Store) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if s.Dialect() == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`
	}
	rows, err := s.db.query(testCtx(t), q)
	require.NoError(t, err)
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	require.NoError(t, rows.Err())
	return names
}

// statementCounter is a pgx tracer that counts the statements sent.
type statementCounter struct {
	mu    sync.Mutex
	count int
	sql   []string
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count++
	c.sql = append(c.sql, d.SQL)
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *statementCounter) reset() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.sql
	c.count, c.sql = 0, nil
	return out
}

// TestPostgresResetRoundTrips pins the documented cost of a successful reset
// on PostgreSQL: BEGIN, one statement, COMMIT.
func TestPostgresResetRoundTrips(t *testing.T) {
	t.Parallel()
	tracer := &statementCounter{}
	s := newPostgresPool(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = tracer })
	ctx := testCtx(t)
	now := time.Now().UTC().Truncate(time.Second)
	require.NoError(t, s.AddUser(ctx, store.User{TenantID: "t", ID: "u1", Phone: "+15550100", PasswordHash: "old",
		Profile: json.RawMessage(`{"Uid":"u1"}`)}))
	c := store.Challenge{TenantID: "t", Phone: "+15550100", CodeHash: []byte("0123456789abcdef0123456789abcdef"),
		CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), MaxAttempts: 5}
	require.NoError(t, s.SaveChallenge(ctx, c))
	require.NoError(t, s.CreateSession(ctx, store.Session{ID: "s-old", TenantID: "t", UserID: "u1",
		AccessTokenHash: []byte("old-access"), RefreshTokenHash: []byte("old-refresh"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))

	tracer.reset()
	wrong := store.Reset{
		Check:  store.CodeCheck{TenantID: "t", Phone: "+15550100", CodeHash: []byte("wrong"), Now: now},
		Change: store.PasswordChange{TenantID: "t", UserID: "u1", PasswordHash: "bad", ChangedAt: now},
	}
	require.ErrorIs(t, s.Reset(ctx, wrong), store.ErrCodeMismatch)
	sent := tracer.reset()
	require.Len(t, sent, 7, "statements: %q", sent)
	assert.Equal(t, []string{"begin", pgResetSQL, "rollback", "begin"}, sent[:4])
	assert.Equal(t, "commit", sent[6], "the counted try is committed")

	err := s.Reset(ctx, store.Reset{
		Check:  store.CodeCheck{TenantID: "t", Phone: "+15550100", CodeHash: c.CodeHash, Now: now},
		Change: store.PasswordChange{TenantID: "t", UserID: "u1", PasswordHash: "new", Profile: json.RawMessage(`{"Uid":"u1","x":1}`), ChangedAt: now},
		NewSession: &store.Session{ID: "s-new", TenantID: "t", UserID: "u1", AccessTokenHash: []byte("new-access"),
			RefreshTokenHash: []byte("new-refresh"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		Outbox: []store.OutboxMessage{{ID: "e1", TenantID: "t", Payload: json.RawMessage(`{"HookName":"resetpassword"}`), CreatedAt: now}},
	})
	require.NoError(t, err)
	sent = tracer.reset()
	require.Len(t, sent, 3, "statements: %q", sent)
	assert.Equal(t, "begin", sent[0])
	assert.Equal(t, pgResetSQL, sent[1])
	assert.Equal(t, "commit", sent[2])

	u, err := s.UserByPhone(ctx, "t", "+15550100")
	require.NoError(t, err)
	assert.Equal(t, "new", u.PasswordHash)
	pending, err := s.PendingOutbox(ctx, 10)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, `{"HookName":"resetpassword"}`, string(pending[0].Payload), "outbox payload kept byte for byte")
}

// TestSQLiteTwoHandlesSingleUse runs the concurrent consume across two
// stores on one file, as two processes would: the write lock and the busy
// timeout must still let exactly one win.
func TestSQLiteTwoHandlesSingleUse(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/shared.db"
	var stores []*Store
	for range 2 {
		s, err := OpenSQLite(path, quiet(Config{}))
		require.NoError(t, err)
		t.Cleanup(s.Close)
		require.NoError(t, s.Migrate(testCtx(t)))
		stores = append(stores, s)
	}
	ctx := testCtx(t)
	now := time.Now().UTC()
	c := store.Challenge{TenantID: "t", Phone: "+15550100", CodeHash: []byte("right"), CreatedAt: now,
		ExpiresAt: now.Add(time.Minute), MaxAttempts: 3}
	require.NoError(t, stores[0].SaveChallenge(ctx, c))

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

func TestDeleteExpired(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t, Config{}, "")
			ctx := testCtx(t)
			now := time.Now().UTC().Truncate(time.Second)
			for i, ttl := range []time.Duration{-time.Minute, time.Minute} {
				require.NoError(t, s.SaveChallenge(ctx, store.Challenge{TenantID: "t", Phone: fmt.Sprint("+1555010", i),
					CodeHash: []byte("h"), CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(ttl), MaxAttempts: 5}))
				require.NoError(t, s.CreateSession(ctx, store.Session{ID: fmt.Sprint("s", i), TenantID: "t", UserID: "u",
					AccessTokenHash: []byte{byte(i)}, RefreshTokenHash: []byte{byte(i)}, CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(ttl)}))
			}
			n, err := s.DeleteExpired(ctx, now)
			require.NoError(t, err)
			assert.Equal(t, int64(2), n, "one challenge and one session had expired")
			require.ErrorIs(t, s.VerifyChallenge(ctx, store.CodeCheck{TenantID: "t", Phone: "+15550100", CodeHash: []byte("h"), Now: now}),
				store.ErrNoChallenge)
			require.NoError(t, s.VerifyChallenge(ctx, store.CodeCheck{TenantID: "t", Phone: "+15550101", CodeHash: []byte("h"), Now: now}))
		})
	}
}

func TestInvalidJSONRejected(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t, Config{}, "")
			ctx := testCtx(t)
			err := s.AddUser(ctx, store.User{TenantID: "t", ID: "u", Phone: "+15550100", PasswordHash: "h", Profile: json.RawMessage(`{"a":`)})
			require.ErrorContains(t, err, "not valid JSON")
			require.NoError(t, s.AddUser(ctx, store.User{TenantID: "t", ID: "u", Phone: "+15550100", PasswordHash: "h"}))
			u, err := s.UserByPhone(ctx, "t", "+15550100")
			require.NoError(t, err)
			assert.JSONEq(t, `{}`, string(u.Profile), "an absent profile is stored as an empty object")
			err = s.UpdatePassword(ctx, store.PasswordChange{TenantID: "t", UserID: "u", PasswordHash: "h2", Profile: json.RawMessage(`nope`)})
			require.ErrorContains(t, err, "not valid JSON")
		})
	}
}

// TestHostUsersIntegerIDs adapts a host table keyed by an integer, the common
// case, and runs a whole reset through it.
func TestHostUsersIntegerIDs(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			profileType := "TEXT"
			if b.name == "postgres" {
				profileType = "jsonb"
			}
			setup := `CREATE TABLE members (member_id BIGINT PRIMARY KEY, cell TEXT UNIQUE NOT NULL,
				secret TEXT NOT NULL, data ` + profileType + `);
				INSERT INTO members VALUES (1001, '+15550100', 'old', '{"name":"Kim","tags":["a"]}'), (1002, '+15550101', 'other', NULL)`
			s := b.open(t, Config{HostUsers: &HostUsers{
				UserByPhone:    `SELECT member_id, secret, data FROM members WHERE cell = @phone`,
				UpdatePassword: `UPDATE members SET secret = @password_hash, data = @profile WHERE member_id = @user_id`, // the ID comes back as text
			}}, setup)
			ctx := testCtx(t)
			now := time.Now().UTC().Truncate(time.Second)

			u, err := s.UserByPhone(ctx, "any", "+15550100")
			require.NoError(t, err)
			assert.Equal(t, "1001", u.ID)
			assert.JSONEq(t, `{"name":"Kim","tags":["a"]}`, string(u.Profile))
			other, err := s.UserByPhone(ctx, "any", "+15550101")
			require.NoError(t, err)
			assert.JSONEq(t, `{}`, string(other.Profile), "a NULL profile reads as an empty object")
			require.ErrorContains(t, s.AddUser(ctx, store.User{TenantID: "any", ID: "9", Phone: "+1"}), "HostUsers.AddUser")

			c := store.Challenge{TenantID: "any", Phone: "+15550100", CodeHash: []byte("right"), CreatedAt: now,
				ExpiresAt: now.Add(time.Minute), MaxAttempts: 3}
			require.NoError(t, s.SaveChallenge(ctx, c))
			require.NoError(t, s.Reset(ctx, store.Reset{
				Check:  store.CodeCheck{TenantID: "any", Phone: c.Phone, CodeHash: c.CodeHash, Now: now},
				Change: store.PasswordChange{TenantID: "any", UserID: u.ID, PasswordHash: "new", Profile: json.RawMessage(`{"name":"Kim","tags":["a"],"changed":1}`), ChangedAt: now},
			}))
			u, err = s.UserByPhone(ctx, "any", "+15550100")
			require.NoError(t, err)
			assert.Equal(t, "new", u.PasswordHash)
			assert.JSONEq(t, `{"name":"Kim","tags":["a"],"changed":1}`, string(u.Profile))
			other2, err := s.UserByPhone(ctx, "any", "+15550101")
			require.NoError(t, err)
			assert.Equal(t, "other", other2.PasswordHash, "only the reset user changed")
		})
	}
}
