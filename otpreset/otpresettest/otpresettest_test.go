package otpresettest_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/sqlite"
)

// TestWithStore: AddUser and PasswordWorks use the store the handler uses,
// here SQLite over a host's table whose ids the database assigns.
func TestWithStore(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "app.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, phone TEXT UNIQUE, password_hash TEXT)`)
	require.NoError(t, err)
	st := sqlite.New(db, sqlite.Config{HostUsers: &sqlite.HostUsers{
		UserByPhone:    `SELECT id, password_hash, NULL FROM users WHERE phone = @phone`,
		UpdatePassword: `UPDATE users SET password_hash = @password_hash WHERE id = @user_id`,
		AddUser:        `INSERT INTO users (phone, password_hash) VALUES (@phone, @password_hash)`,
	}})
	require.NoError(t, st.Migrate(t.Context()))

	env := otpresettest.New(t, otpresettest.WithStore(st))
	assert.Same(t, st, env.Store)
	u := env.AddUser("+919999999999", "old password 1")
	assert.Equal(t, "1", u.ID, "AddUser returns the id the store chose")
	env.Send("+919999999999")
	rec := env.Reset("+919999999999", env.Code("+919999999999"), "new password 1")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.True(t, env.PasswordWorks("+919999999999", "new password 1"))
	var hash string
	require.NoError(t, db.QueryRow(`SELECT password_hash FROM users WHERE id = 1`).Scan(&hash))
	assert.Contains(t, hash, "$argon2id$", "the host's own row holds the new hash")
}

// TestAddUserComposite: the users of a store.Composite are seeded.
func TestAddUserComposite(t *testing.T) {
	users, codes := memstore.New(), memstore.New()
	env := otpresettest.New(t, otpresettest.WithStore(store.Composite{Users: users, Challenges: codes, Sessions: codes}))
	env.AddUser("+919999999999", "old password 1")
	_, err := users.UserByPhone(t.Context(), otpresettest.TenantID, "+919999999999")
	require.NoError(t, err, "the user went to the composite's Users")
}

// TestMountWrongPrefix: requests go through the router, so a prefix that
// does not match the host's routes fails, as it would in production.
func TestMountWrongPrefix(t *testing.T) {
	env := otpresettest.New(t)
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", env.Handler))
	env.Mount(mux, "/v1")
	assert.Equal(t, http.StatusNotFound, env.Send("+919999999999").Code)
	env.Mount(mux, "/api")
	assert.Equal(t, http.StatusOK, env.Send("+919999999999").Code)
}

func TestLastCodesKeepsTheLastCodePerPhone(t *testing.T) {
	var s otpresettest.LastCodes
	assert.Equal(t, "", s.Code("+15550100"))
	for _, m := range []sms.Message{
		{To: "+15550100", Code: "111111"},
		{To: "+15550101", Code: "222222"},
		{To: "+15550100", Code: "333333"},
		{To: "+15550100", Body: "your password was changed"}, // the notice: no code
	} {
		_, err := s.Send(context.Background(), m)
		require.NoError(t, err)
	}
	assert.Equal(t, "333333", s.Code("+15550100"), "the last code, not the notice after it")
	assert.Equal(t, "222222", s.Code("+15550101"))
}
