package sqltest

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/internal/sqlcore"
)

// checker is what otpreset's handler and a host's main look for in a store
// to check it at start.
type checker interface {
	Check(ctx context.Context) error
}

func checkOf(t *testing.T, s store.Store) checker {
	t.Helper()
	c, ok := s.(checker)
	require.Truef(t, ok, "%T has no Check(ctx) error", s)
	return c
}

// requireNotReady checks err wraps store.ErrNotReady and says each of want.
func requireNotReady(t *testing.T, err error, want ...string) {
	t.Helper()
	require.ErrorIs(t, err, store.ErrNotReady)
	for _, w := range want {
		assert.Contains(t, err.Error(), w)
	}
}

// Check checks the adapter's Check: ready when migrated, with otpreset's
// users or a host's; not ready, naming what is wrong, when the schema is
// missing or older than the code, when HostUsers lacks a required query
// (which New's store and Migrate refuse too), and when a host query does
// not prepare, uses a parameter otpreset does not pass or leaves out one it
// needs; every problem reported at once.
func Check(t *testing.T, b Backend) {
	t.Run("ready", func(t *testing.T) {
		for _, c := range []struct {
			cfg   sqlcore.Config
			setup string
		}{{sqlcore.Config{}, ""}, {sqlcore.Config{HostUsers: HostUsers()}, b.HostSetup()}, {sqlcore.Config{HostUsers: UsersQueries()}, b.UsersSetup()}} {
			s, _ := b.Open(t, c.cfg, c.setup)
			require.NoError(t, checkOf(t, s).Check(Ctx(t)))
		}
	})
	t.Run("not migrated", func(t *testing.T) {
		s, _ := b.Handles(t)(Quiet(sqlcore.Config{}))
		requireNotReady(t, checkOf(t, s).Check(Ctx(t)), "schema not migrated", "otpreset_schema_migrations", "call Migrate")
	})
	t.Run("older schema", func(t *testing.T) {
		// Migrated by a release that had only the first two migrations.
		s, core := b.Handles(t)(Quiet(sqlcore.Config{}))
		all := core.Dialect.Migrations
		ms, err := sqlcore.Migrations(all)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(ms), 3)
		old := fstest.MapFS{}
		for _, m := range ms[:2] {
			old[m.Name] = &fstest.MapFile{Data: []byte(m.SQL)}
		}
		core.Dialect.Migrations = old
		require.NoError(t, core.Migrate(Ctx(t)))
		core.Dialect.Migrations = all
		var names []string
		for _, m := range ms[2:] {
			names = append(names, m.Name)
		}
		err = checkOf(t, s).Check(Ctx(t))
		t.Logf("Check says:\n%v", err)
		requireNotReady(t, err, append(names, "schema at version 2", "call Migrate")...)
		require.NoError(t, core.Migrate(Ctx(t)))
		require.NoError(t, checkOf(t, s).Check(Ctx(t)), "ready once migrated")
	})
	t.Run("HostUsers missing a query", func(t *testing.T) {
		for _, c := range []struct {
			h    *sqlcore.HostUsers
			want string
		}{
			{&sqlcore.HostUsers{}, "HostUsers.UserByPhone and HostUsers.UpdatePassword are empty"},
			{&sqlcore.HostUsers{UserByPhone: usersUserByPhone, AddUser: usersAddUser}, "HostUsers.UpdatePassword is empty"},
			{&sqlcore.HostUsers{UpdatePassword: usersUpdatePassword}, "HostUsers.UserByPhone is empty"},
		} {
			s, core := b.Handles(t)(Quiet(sqlcore.Config{HostUsers: c.h}))
			_, err := core.DB.Exec(Ctx(t), b.UsersSetup())
			require.NoError(t, err)
			requireNotReady(t, core.Migrate(Ctx(t)), c.want)
			_, err = core.SchemaVersion(Ctx(t))
			require.Error(t, err, "Migrate refused before changing the schema")
			_, err = s.UserByPhone(Ctx(t), "t", "+15550100")
			requireNotReady(t, err, c.want)
			requireNotReady(t, checkOf(t, s).Check(Ctx(t)), c.want)
		}
	})
	t.Run("host queries that cannot work", func(t *testing.T) {
		s, _ := b.Open(t, sqlcore.Config{HostUsers: &sqlcore.HostUsers{
			UserByPhone:    `SELECT id, passwrd_hash, NULL FROM users WHERE phone = @phon`,
			UpdatePassword: `UPDATE users SET password_hash = @password_hash WHERE phone = phone`,
			AddUser:        `INSERT INTO user (phone, password_hash) VALUES (@phone, @password_hash)`,
		}}, b.UsersSetup())
		err := checkOf(t, s).Check(Ctx(t))
		t.Logf("Check says:\n%v", err)
		requireNotReady(t, err,
			"HostUsers.UserByPhone uses @phon, which otpreset does not pass (it passes @tenant_id, @phone)",
			"HostUsers.UserByPhone does not use @phone",
			"HostUsers.UserByPhone does not prepare", "passwrd_hash",
			"HostUsers.UpdatePassword does not use @user_id",
			"HostUsers.AddUser does not prepare")
		assert.NotContains(t, err.Error(), "HostUsers.UpdatePassword does not prepare", "that one prepares")
	})
}
