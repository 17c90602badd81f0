// Package sqltest is the test suite shared by the SQL adapters
// (store/postgres, store/sqlite): each adapter describes how to open itself
// as a Backend, and its tests call the functions here, so the two adapters
// are held to the same tests without copying them.
package sqltest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/internal/sqlcore"
	"github.com/otpreset/go/store/storetest"
)

// Backend opens one adapter in tests.
type Backend struct {
	// Name is "postgres" or "sqlite".
	Name string
	// Handles returns a function that opens a new, unmigrated handle (as a
	// separate process would) on one fresh, empty database per call of
	// Handles. cfg is given in the shared code's form; the adapter
	// translates it. The handle's core is returned beside the adapter's
	// public Store, for the tests that reach inside.
	Handles func(t testing.TB) func(cfg sqlcore.Config) (store.Store, *sqlcore.Store)
	// JSON is the column type for JSON in a host's table.
	JSON string
	// SerialID is the column definition of an id the database assigns.
	SerialID string
	// Tables lists the tables of the current schema, one name per row.
	Tables string
	// StateTables are the tables that hold challenges and counters,
	// otpreset_challenges first.
	StateTables []string
	// ForgetSlack is how long a row may outlive everything in it (0: it
	// goes as soon as it is forgotten). PostgreSQL keeps a phone's code
	// and counters in one row and moves its purge instant an hour past
	// what it needs, so that most writes update the row in place.
	ForgetSlack time.Duration
}

// schemaTables are the tables Migrate creates, with otpreset_users or not.
func (b Backend) schemaTables(users bool) []string {
	names := append([]string{"otpreset_outbox", "otpreset_schema_migrations", "otpreset_sessions"}, b.StateTables...)
	if users {
		names = append(names, "otpreset_users")
	}
	return names
}

// Open returns a fresh, migrated store. setup, when not empty, is SQL run
// first (a host's table).
func (b Backend) Open(t testing.TB, cfg sqlcore.Config, setup string) (store.Store, *sqlcore.Store) {
	t.Helper()
	s, core := b.Handles(t)(Quiet(cfg))
	if setup != "" {
		_, err := core.DB.Exec(Ctx(t), setup)
		require.NoError(t, err)
	}
	require.NoError(t, core.Migrate(Ctx(t)))
	return s, core
}

// Ctx is the test's context, cancelled when it ends. It has no deadline
// of its own: one would be shared by every operation of the test and its
// subtests (thousands in GuessesMatchReference), which a loaded machine
// can exceed without anything being wrong. go test's -timeout bounds a
// test that hangs, and prints where.
func Ctx(t testing.TB) context.Context { return t.Context() }

// Quiet sends the store's logs nowhere unless the test chose a logger.
func Quiet(cfg sqlcore.Config) sqlcore.Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// A host's users table, unlike otpreset_users in every name, with the
// queries that adapt it: multi-tenant, text ids, a profile column. The same
// SQL serves both dialects.
const (
	hostTable = `CREATE TABLE app_accounts (
		org        TEXT NOT NULL,
		account_id TEXT NOT NULL,
		mobile     TEXT NOT NULL,
		pw         TEXT NOT NULL,
		attrs      %s,
		pw_changed TEXT,
		PRIMARY KEY (org, account_id),
		UNIQUE (org, mobile)
	)`
	hostUserByPhone    = `SELECT account_id, pw, attrs FROM app_accounts WHERE org = @tenant_id AND mobile = @phone`
	hostUpdatePassword = `UPDATE app_accounts SET pw = @password_hash, attrs = @profile, pw_changed = @changed_at
		WHERE org = @tenant_id AND account_id = @user_id`
	hostAddUser = `INSERT INTO app_accounts (org, account_id, mobile, pw, attrs)
		VALUES (@tenant_id, @user_id, @phone, @password_hash, @profile)
		ON CONFLICT (org, mobile) DO UPDATE SET account_id = excluded.account_id, pw = excluded.pw, attrs = excluded.attrs`
)

// HostSetup creates app_accounts.
func (b Backend) HostSetup() string { return strings.Replace(hostTable, "%s", b.JSON, 1) }

// HostUsers adapts app_accounts.
func HostUsers() *sqlcore.HostUsers {
	return &sqlcore.HostUsers{UserByPhone: hostUserByPhone, UpdatePassword: hostUpdatePassword, AddUser: hostAddUser}
}

// The table of README's "Bring your own users table": what a small app
// already has. No tenant, no profile, ids the database assigns.
const (
	usersTable = `CREATE TABLE users (id %s, phone TEXT, password_hash TEXT)`
	// UsersShape is what that table can give.
	usersUserByPhone    = `SELECT id, password_hash, NULL FROM users WHERE phone = @phone`
	usersUpdatePassword = `UPDATE users SET password_hash = @password_hash WHERE id = @user_id`
	usersAddUser        = `INSERT INTO users (phone, password_hash) VALUES (@phone, @password_hash)`
)

// UsersShape is the storetest.Shape of the users table.
var UsersShape = storetest.Shape{SingleTenantUsers: true, NoProfile: true, StoreAssignsIDs: true}

// UsersSetup creates the users table.
func (b Backend) UsersSetup() string { return fmt.Sprintf(usersTable, b.SerialID) }

// UsersQueries adapts the users table.
func UsersQueries() *sqlcore.HostUsers {
	return &sqlcore.HostUsers{UserByPhone: usersUserByPhone, UpdatePassword: usersUpdatePassword, AddUser: usersAddUser}
}

// newStore opens stores for storetest, which compares them with memstore
// step by step: with purging off, since a purged expired code answers
// ErrNoChallenge where memstore, which sweeps only when large, still says
// ErrChallengeExpired (Purge and CountersMatchReference test purging).
func (b Backend) newStore(cfg func() sqlcore.Config, setup string) func(t *testing.T) store.Store {
	return func(t *testing.T) store.Store {
		s, core := b.Open(t, cfg(), setup)
		core.PurgeEvery = 0
		return s
	}
}

// Conformance runs storetest on the adapter with its own users table, with
// a multi-tenant host table, and with the host-style users table.
func Conformance(t *testing.T, b Backend) {
	t.Run("OwnUsers", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, b.newStore(func() sqlcore.Config { return sqlcore.Config{} }, ""))
	})
	t.Run("HostUsers", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, b.newStore(func() sqlcore.Config { return sqlcore.Config{HostUsers: HostUsers()} }, b.HostSetup()))
	})
	t.Run("HostStyleUsersTable", func(t *testing.T) {
		t.Parallel()
		UsersShape.Run(t, b.newStore(func() sqlcore.Config { return sqlcore.Config{HostUsers: UsersQueries()} }, b.UsersSetup()))
	})
}

var errInjected = errors.New("injected fault")

// ResetFault injects a fault after the code is consumed inside Reset's
// transaction, and checks nothing stayed done: old password hash, sessions
// kept, no outbox, and the code still usable.
func ResetFault(t *testing.T, b Backend) {
	for _, host := range []string{"own", "host", "users"} {
		t.Run("users="+host, func(t *testing.T) {
			shape := storetest.Shape{}
			open := func(t *testing.T) (store.Store, *sqlcore.Store) {
				switch host {
				case "host":
					return b.Open(t, sqlcore.Config{HostUsers: HostUsers()}, b.HostSetup())
				case "users":
					return b.Open(t, sqlcore.Config{HostUsers: UsersQueries()}, b.UsersSetup())
				}
				return b.Open(t, sqlcore.Config{}, "")
			}
			if host == "users" {
				shape = UsersShape
			}
			t.Run("hook fails after consume", func(t *testing.T) {
				s, core := open(t)
				var calls atomic.Int32
				err := shape.ResetFault(t, s, func(*testing.T) func() {
					core.AfterConsume = func(context.Context, sqlcore.Querier) error {
						calls.Add(1)
						return errInjected
					}
					return func() { core.AfterConsume = nil }
				})
				require.ErrorIs(t, err, errInjected)
				assert.Equal(t, int32(1), calls.Load(), "the fault must strike once, after the consume")
			})
			t.Run("context cancelled after consume", func(t *testing.T) {
				s, core := open(t)
				err := shape.ResetFault(t, s, func(*testing.T) func() {
					core.AfterConsume = func(ctx context.Context, q sqlcore.Querier) error {
						ctx, cancel := context.WithCancel(ctx)
						cancel()
						_, err := q.Exec(ctx, "SELECT 1")
						return err
					}
					return func() { core.AfterConsume = nil }
				})
				require.ErrorIs(t, err, context.Canceled)
			})
			if host != "own" {
				t.Run("host update query fails", func(t *testing.T) {
					s, core := open(t)
					err := shape.ResetFault(t, s, func(*testing.T) func() {
						good := core.Host.UpdatePassword
						core.Host.UpdatePassword = `UPDATE app_accounts SET no_such_column = @password_hash WHERE org = @tenant_id`
						return func() { core.Host.UpdatePassword = good }
					})
					require.Error(t, err)
					require.NotErrorIs(t, err, store.ErrNotFound)
				})
			}
			if b.Name == "postgres" {
				t.Run("connection killed after consume", func(t *testing.T) {
					s, core := open(t)
					err := shape.ResetFault(t, s, func(*testing.T) func() {
						core.AfterConsume = func(ctx context.Context, q sqlcore.Querier) error {
							_, err := q.Exec(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
							return err
						}
						return func() { core.AfterConsume = nil }
					})
					require.ErrorContains(t, err, "terminating connection")
				})
			}
		})
	}
}

// Migrate checks that Migrate is idempotent, runs only on request, creates
// only otpreset_ tables (and not otpreset_users for a host's users), and is
// safe from several processes at once.
func Migrate(t *testing.T, b Backend) {
	t.Run("idempotent", func(t *testing.T) {
		s, core := b.Open(t, sqlcore.Config{}, "") // migrated once
		ctx := Ctx(t)
		latest := core.LatestSchemaVersion()
		require.Positive(t, latest)
		require.NoError(t, core.Migrate(ctx))
		require.NoError(t, core.Migrate(ctx))
		v, err := core.SchemaVersion(ctx)
		require.NoError(t, err)
		assert.Equal(t, latest, v)
		ms, err := sqlcore.Migrations(core.Dialect.Migrations)
		require.NoError(t, err)
		var n int
		require.NoError(t, core.DB.QueryRow(ctx, `SELECT count(*) FROM otpreset_schema_migrations`).Scan(&n))
		assert.Equal(t, len(ms), n, "each migration recorded once")
		// The schema works after the repeated calls.
		require.NoError(t, s.(storetest.UserSeeder).AddUser(ctx, store.User{TenantID: "t", ID: "u", Phone: "+15550100", PasswordHash: "h"}))
	})
	t.Run("only on request, prefixed tables", func(t *testing.T) {
		s, core := b.Handles(t)(Quiet(sqlcore.Config{}))
		ctx := Ctx(t)
		assert.Empty(t, b.tableNames(t, core), "opening must not create tables")
		_, err := s.UserByPhone(ctx, "t", "+15550100")
		require.Error(t, err)
		require.NotErrorIs(t, err, store.ErrNotFound, "a missing table is a fault, not a missing user")
		_, err = core.SchemaVersion(ctx)
		require.Error(t, err)

		require.NoError(t, core.Migrate(ctx))
		assert.ElementsMatch(t, b.schemaTables(true), b.tableNames(t, core))
	})
	t.Run("HostUsers: no otpreset_users, created once the host moves in", func(t *testing.T) {
		open := b.Handles(t)
		_, core := open(Quiet(sqlcore.Config{HostUsers: UsersQueries()}))
		ctx := Ctx(t)
		require.NoError(t, core.Migrate(ctx))
		assert.ElementsMatch(t, b.schemaTables(false), b.tableNames(t, core), "the counters too")
		v, err := core.SchemaVersion(ctx)
		require.NoError(t, err)
		assert.Equal(t, core.LatestSchemaVersion(), v, "up to date, though the users migration was skipped")

		// The same database, now without HostUsers: the skipped migration runs.
		s, own := open(Quiet(sqlcore.Config{}))
		require.NoError(t, own.Migrate(ctx))
		assert.Contains(t, b.tableNames(t, own), "otpreset_users")
		require.NoError(t, s.(storetest.UserSeeder).AddUser(ctx, store.User{TenantID: "t", ID: "u", Phone: "+15550100", PasswordHash: "h"}))
	})
	t.Run("concurrent", func(t *testing.T) {
		open := b.Handles(t)
		var cores []*sqlcore.Store
		for range 4 { // as if four processes started at once
			_, core := open(Quiet(sqlcore.Config{}))
			cores = append(cores, core)
		}
		var wg sync.WaitGroup
		errs := make([]error, len(cores))
		for i, core := range cores {
			wg.Go(func() { errs[i] = core.Migrate(Ctx(t)) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		var n int
		require.NoError(t, cores[0].DB.QueryRow(Ctx(t), `SELECT count(*) FROM otpreset_schema_migrations`).Scan(&n))
		ms, err := sqlcore.Migrations(cores[0].Dialect.Migrations)
		require.NoError(t, err)
		assert.Equal(t, len(ms), n)
	})
}

func (b Backend) tableNames(t *testing.T, core *sqlcore.Store) []string {
	t.Helper()
	rows, err := core.DB.Query(Ctx(t), b.Tables)
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

// DeleteExpired checks the clean-up of expired rows: challenges, sessions,
// forgotten network counters and whole budgets, and nothing live.
func DeleteExpired(t *testing.T, b Backend) {
	st, s := b.Open(t, sqlcore.Config{}, "")
	s.PurgeEvery = 0
	ctx := Ctx(t)
	now := time.Now().UTC().Truncate(time.Second)
	p := store.GuessPolicy{Attempts: 5, Lockout: time.Minute, MaxLockout: time.Hour, Retain: 2 * time.Hour,
		Budget: 10, BudgetWindow: 10 * time.Hour} // one an hour
	for i, ago := range []time.Duration{2 * time.Hour, time.Hour} { // the first is forgotten by now, the second not
		phone := fmt.Sprint("+1555010", i)
		then := now.Add(-ago)
		_, err := st.IssueChallenge(ctx, store.Issue{Challenge: store.Challenge{TenantID: "t", Phone: phone,
			Nonce: []byte("n"), CodeHash: []byte("h"), CreatedAt: then, ExpiresAt: now.Add(time.Duration(2*i-1) * time.Minute),
			MaxAttempts: 5}, Network: "n", SendLimit: store.SendLimit{Limit: 3, Period: time.Minute}})
		require.NoError(t, err)
		v, err := st.CheckCode(ctx, store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: phone, CodeHash: []byte("x"), Now: then},
			Network: "n", Policy: p})
		require.NoError(t, err)
		require.True(t, v.Counted)
		ttl := time.Duration(2*i-1) * time.Minute
		require.NoError(t, s.CreateSession(ctx, store.Session{ID: fmt.Sprint("s", i), TenantID: "t", UserID: "u",
			AccessTokenHash: []byte{byte(i)}, RefreshTokenHash: []byte{byte(i)}, CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(ttl)}))
	}
	rows := func(table string) (n int) {
		require.NoError(t, s.DB.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n))
		return n
	}
	at := now
	if b.ForgetSlack > 0 {
		// The first phone's code expired a minute ago and the rest of its
		// row by now; its row may outlive that by the slack, so at now
		// only the first session goes. The second phone's network counts
		// until now + 1 h, past the slack.
		n, err := s.DeleteExpired(ctx, now)
		require.NoError(t, err)
		assert.Equal(t, int64(1), n, "only the first session: the rows are within their slack")
		at = now.Add(b.ForgetSlack)
	}
	n, err := s.DeleteExpired(ctx, at)
	require.NoError(t, err)
	if b.ForgetSlack > 0 {
		assert.Equal(t, int64(2), n, "the first phone's row (everything in it forgotten) and the second session (expired at now + 1 min)")
		assert.Equal(t, 1, rows("otpreset_challenges"), "the second phone's row is kept: its network counts until now + 1 h")
	} else {
		assert.Equal(t, int64(5), n, "one challenge, one session, one network's counters (Retain passed) and two budgets (an hour each) had lapsed")
		assert.Equal(t, 1, rows("otpreset_network_counters"), "the network seen an hour ago is kept (Retain: two hours)")
		assert.Equal(t, 0, rows("otpreset_phone_budget"), "both budgets are whole again")
	}
	for i, want := range []error{store.ErrNoChallenge, nil} {
		v, err := st.CheckCode(ctx, store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: fmt.Sprint("+1555010", i),
			CodeHash: []byte("h"), Now: now.Add(-time.Second)}, Network: "m"})
		require.NoError(t, err)
		if want == nil {
			require.NoError(t, v.Code)
		} else {
			require.ErrorIs(t, v.Code, want)
		}
	}
}

// InvalidJSONRejected checks that a profile that is not JSON never reaches
// the database.
func InvalidJSONRejected(t *testing.T, b Backend) {
	_, s := b.Open(t, sqlcore.Config{}, "")
	ctx := Ctx(t)
	err := s.AddUser(ctx, store.User{TenantID: "t", ID: "u", Phone: "+15550100", PasswordHash: "h", Profile: json.RawMessage(`{"a":`)})
	require.ErrorContains(t, err, "not valid JSON")
	require.NoError(t, s.AddUser(ctx, store.User{TenantID: "t", ID: "u", Phone: "+15550100", PasswordHash: "h"}))
	u, err := s.UserByPhone(ctx, "t", "+15550100")
	require.NoError(t, err)
	assert.JSONEq(t, `{}`, string(u.Profile), "an absent profile is stored as an empty object")
	err = s.UpdatePassword(ctx, store.PasswordChange{TenantID: "t", UserID: "u", PasswordHash: "h2", Profile: json.RawMessage(`nope`)})
	require.ErrorContains(t, err, "not valid JSON")
}

// HostUsersIntegerIDs adapts a host table keyed by an integer the host
// chose, with a profile column, and runs a whole reset through it.
func HostUsersIntegerIDs(t *testing.T, b Backend) {
	setup := `CREATE TABLE members (member_id BIGINT PRIMARY KEY, cell TEXT UNIQUE NOT NULL,
		secret TEXT NOT NULL, data ` + b.JSON + `);
		INSERT INTO members VALUES (1001, '+15550100', 'old', '{"name":"Kim","tags":["a"]}'), (1002, '+15550101', 'other', NULL)`
	_, s := b.Open(t, sqlcore.Config{HostUsers: &sqlcore.HostUsers{
		UserByPhone:    `SELECT member_id, secret, data FROM members WHERE cell = @phone`,
		UpdatePassword: `UPDATE members SET secret = @password_hash, data = @profile WHERE member_id = @user_id`, // the ID comes back as text
	}}, setup)
	ctx := Ctx(t)
	now := time.Now().UTC().Truncate(time.Second)

	u, err := s.UserByPhone(ctx, "any", "+15550100")
	require.NoError(t, err)
	assert.Equal(t, "1001", u.ID)
	assert.JSONEq(t, `{"name":"Kim","tags":["a"]}`, string(u.Profile))
	other, err := s.UserByPhone(ctx, "any", "+15550101")
	require.NoError(t, err)
	assert.JSONEq(t, string(sqlcore.MinimalProfile("1002", "+15550101")), string(other.Profile), "a NULL profile reads as the minimal one")
	require.ErrorContains(t, s.AddUser(ctx, store.User{TenantID: "any", ID: "9", Phone: "+1"}), "HostUsers.AddUser")

	c := store.Challenge{TenantID: "any", Phone: "+15550100", CodeHash: []byte("right"), CreatedAt: now,
		ExpiresAt: now.Add(time.Minute), MaxAttempts: 3}
	_, err = s.IssueChallenge(ctx, store.Issue{Challenge: c})
	require.NoError(t, err)
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
}

// brokenEnv names, in the environment of a re-executed test binary, the
// broken adapter whose conformance run is expected to fail.
const brokenEnv = "OTPRESET_SQLTEST_BROKEN_ADAPTER"

// brokenAdapter is a host adapter with one real defect, and the subtests of
// storetest that must catch it.
type brokenAdapter struct {
	shape   storetest.Shape
	setup   func(b Backend) string
	queries *sqlcore.HostUsers
	catches []string
}

func brokenAdapters() map[string]brokenAdapter {
	users := func(update, byPhone string) *sqlcore.HostUsers {
		q := UsersQueries()
		if update != "" {
			q.UpdatePassword = update
		}
		if byPhone != "" {
			q.UserByPhone = byPhone
		}
		return q
	}
	return map[string]brokenAdapter{
		// The WHERE clause lost its parameter: every user gets the new hash.
		"updates_every_row": {UsersShape, Backend.UsersSetup,
			users(`UPDATE users SET password_hash = @password_hash WHERE phone = phone`, ""),
			[]string{"Resetter/Success"}},
		// The hash goes nowhere: the row is touched, the password is not.
		"loses_the_hash": {UsersShape, Backend.UsersSetup,
			users(`UPDATE users SET phone = phone WHERE id = @user_id`, ""),
			[]string{"Users/ProfileKeptWhole", "Resetter/Success"}},
		// Claims tenants (the zero Shape) but its queries forget them.
		"ignores_the_tenant": {storetest.Shape{}, Backend.HostSetup,
			&sqlcore.HostUsers{
				UserByPhone:    `SELECT account_id, pw, attrs FROM app_accounts WHERE mobile = @phone ORDER BY org`,
				UpdatePassword: `UPDATE app_accounts SET pw = @password_hash, attrs = @profile WHERE account_id = @user_id`,
				AddUser:        hostAddUser,
			},
			[]string{"Users/TenantsIsolated", "Users/UserByPhoneNotFound/known_phone,_other_tenant"}},
		// Claims to keep the profile, on a table that has no column for it.
		"claims_a_profile": {storetest.Shape{SingleTenantUsers: true, StoreAssignsIDs: true}, Backend.UsersSetup,
			users("", ""),
			[]string{"Users/ProfileKeptWhole", "Resetter/Success"}},
		// Keyed too loosely: every user up to this one gets the new hash
		// (issue 22's host wrote this for a users table of its own).
		"updates_ids_up_to_it": {UsersShape, Backend.UsersSetup,
			users(`UPDATE users SET password_hash = @password_hash WHERE id <= @user_id`, ""),
			[]string{"Users/OnlyTheUser", "Resetter/OnlyTheUser"}},
		// Keyed by a prefix of the id: user 2 resets 20 and 21 too.
		"updates_ids_that_start_like_it": {UsersShape, Backend.UsersSetup,
			users(`UPDATE users SET password_hash = @password_hash WHERE CAST(id AS TEXT) LIKE CAST(@user_id AS TEXT) || '%'`, ""),
			[]string{"Users/OnlyTheUser", "Resetter/OnlyTheUser"}},
		// Finds a user by the last 4 digits of the phone.
		"finds_by_last_4_digits": {UsersShape, Backend.UsersSetup,
			users("", `SELECT id, password_hash, NULL FROM users
				WHERE substr(phone, length(phone) - 3) = substr(CAST(@phone AS TEXT), length(CAST(@phone AS TEXT)) - 3)`),
			[]string{"Users/OnlyTheUser", "Resetter/OnlyTheUser"}},
		// Finds a user by the last 10 digits of the phone (a national number).
		"finds_by_last_10_digits": {UsersShape, Backend.UsersSetup,
			users("", `SELECT id, password_hash, NULL FROM users
				WHERE substr(phone, length(phone) - 9) = substr(CAST(@phone AS TEXT), length(CAST(@phone AS TEXT)) - 9)`),
			[]string{"Users/OnlyTheUser", "Resetter/OnlyTheUser"}},
		// Finds a user whose phone begins with the one asked for.
		"finds_by_prefix": {UsersShape, Backend.UsersSetup,
			users("", `SELECT id, password_hash, NULL FROM users WHERE phone LIKE CAST(@phone AS TEXT) || '%'`),
			[]string{"Users/OnlyTheUser", "Resetter/OnlyTheUser"}},
		// Reads the hash from the wrong column.
		"reads_the_wrong_column": {UsersShape, Backend.UsersSetup,
			users("", `SELECT id, phone, NULL FROM users WHERE phone = @phone`),
			[]string{"Users/ProfileKeptWhole", "Resetter/Success"}},
	}
}

// BrokenHostAdapters runs storetest on host adapters that each have one
// real defect, each in a re-executed test binary (storetest takes a
// *testing.T, so a failing run is observed from outside), and checks that
// the run fails in the subtests that should catch the defect. It is how we
// know a Shape relaxes only what it says. The child runs only the groups of
// the suite that should catch the defect (the counters' long random runs
// have nothing to do with users), with a deadline of its own.
func BrokenHostAdapters(t *testing.T, b Backend) {
	cases := brokenAdapters()
	if name := os.Getenv(brokenEnv); name != "" {
		c, ok := cases[name]
		require.Truef(t, ok, "no broken adapter %q", name)
		c.shape.Run(t, b.newStore(func() sqlcore.Config { return sqlcore.Config{HostUsers: c.queries} }, c.setup(b)))
		return
	}
	b.Handles(t) // skips here (fails in CI) when the server is missing, not in the child
	parent := t.Name()
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(Ctx(t), os.Args[0], "-test.run="+runPattern(parent, c.catches), "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAsf(t, err, &exit, "the suite passed a broken adapter:\n%s", out)
			require.Equalf(t, 1, exit.ExitCode(), "the suite did not fail as a test failure:\n%s", out)
			for _, sub := range c.catches {
				assert.Containsf(t, string(out), "--- FAIL: "+t.Name()[:strings.LastIndex(t.Name(), "/")]+"/"+sub+" ",
					"storetest's %s must catch %s", sub, name)
			}
			if t.Failed() {
				t.Logf("child output:\n%s", out)
			}
		})
	}
}

// runPattern is a -test.run pattern for the test parent and, of the
// storetest subtests under it, those named in catches ("Users/TenantsIsolated"):
// at each level the alternation of the names' parts, and every subtest
// below a level where one of the names ends. The child then runs the
// subtests that must fail and few others, not the whole suite.
func runPattern(parent string, catches []string) string {
	var levels []string
	for _, part := range strings.Split(parent, "/") {
		levels = append(levels, "^"+regexp.QuoteMeta(part)+"$")
	}
	if len(catches) == 0 {
		return strings.Join(levels, "/")
	}
	var parts [][]string
	for _, c := range catches {
		parts = append(parts, strings.Split(c, "/"))
	}
	for depth := 0; ; depth++ {
		var alt []string
		for _, p := range parts {
			if len(p) <= depth {
				return strings.Join(levels, "/") // a name ends above: all below it
			}
			if q := regexp.QuoteMeta(p[depth]); !slices.Contains(alt, q) {
				alt = append(alt, q)
			}
		}
		levels = append(levels, "^("+strings.Join(alt, "|")+")$")
	}
}

// BenchReset measures a successful reset (with a new session and one outbox
// event) after saving its code, with otpreset's users and with a host's.
func BenchReset(b *testing.B, be Backend) {
	for _, host := range []bool{false, true} {
		b.Run(fmt.Sprintf("hostUsers=%v", host), func(b *testing.B) {
			cfg, setup := sqlcore.Config{}, ""
			if host {
				cfg, setup = sqlcore.Config{HostUsers: HostUsers()}, be.HostSetup()
			}
			_, s := be.Open(b, cfg, setup)
			ctx := b.Context()
			now := time.Now().UTC()
			require.NoError(b, s.AddUser(ctx, store.User{TenantID: "t", ID: "u", Phone: "+15550100", PasswordHash: "h",
				Profile: json.RawMessage(`{"Uid":"u"}`)}))
			i := 0
			for b.Loop() {
				i++
				code := fmt.Appendf(nil, "code-%d", i)
				_, err := s.IssueChallenge(ctx, store.Issue{Challenge: store.Challenge{TenantID: "t", Phone: "+15550100",
					Nonce: code, CodeHash: code, CreatedAt: now, ExpiresAt: now.Add(time.Minute), MaxAttempts: 5}})
				require.NoError(b, err)
				require.NoError(b, s.Reset(ctx, store.Reset{
					Check:  store.CodeCheck{TenantID: "t", Phone: "+15550100", CodeHash: code, Now: now},
					Change: store.PasswordChange{TenantID: "t", UserID: "u", PasswordHash: "new", Profile: json.RawMessage(`{"Uid":"u"}`), ChangedAt: now},
					NewSession: &store.Session{ID: fmt.Sprint("s", i), TenantID: "t", UserID: "u", AccessTokenHash: fmt.Appendf(nil, "a%d", i),
						RefreshTokenHash: []byte("r"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
					Outbox: []store.OutboxMessage{{ID: fmt.Sprint("e", i), TenantID: "t", Payload: json.RawMessage(`{}`), CreatedAt: now}},
				}))
			}
		})
	}
}
