package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/sqlite"
	"github.com/otpreset/go/store/storetest"
)

// newTestApp is the host over a fresh database file.
func newTestApp(t *testing.T) *app {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "app.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	a, err := newApp(t.Context(), db, time.Now)
	require.NoError(t, err)
	return a
}

// TestUsersTableConformance: the host's users table, through HostUsers,
// gives every guarantee its shape can give.
func TestUsersTableConformance(t *testing.T) {
	shape := storetest.Shape{SingleTenantUsers: true, NoProfile: true, StoreAssignsIDs: true}
	shape.Run(t, func(t *testing.T) store.Store { return newTestApp(t).store })
}

// resetAnswer is the part of a reset's answer the host uses.
type resetAnswer struct {
	Data struct {
		AccessToken string `json:"access_token"`
	}
}

// TestResetThroughTheHostsRouter is a host's own test: its gorilla router,
// its SQLite users and sessions, otpresettest driving them.
func TestResetThroughTheHostsRouter(t *testing.T) {
	const phone = "+919999999999"
	a := newTestApp(t)
	env := otpresettest.New(t, otpresettest.WithStore(a.store), func(c *otpreset.Config, tn *otpreset.Tenant) {
		tn.ID = tenantID
		c.AfterReset = a.afterReset
	})
	a.now = env.Clock.Now
	env.Mount(a.router(env.Handler), "/api")
	call := func(method, path, token, body string) *httptest.ResponseRecorder {
		return env.Do(method, path, body, http.Header{"Authorization": {"Bearer " + token}})
	}
	tokenOf := func(rec *httptest.ResponseRecorder) (tok struct{ Token string }) {
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tok))
		return tok
	}
	env.AddUser(phone, "old password 1")
	old := tokenOf(call("POST", "/api/login", "", `{"phone":"`+phone+`","password":"old password 1"}`)).Token

	require.Equal(t, http.StatusOK, env.Send(phone).Code)
	rec := env.Reset(phone, env.Code(phone), "new password 1")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.True(t, env.PasswordWorks(phone, "new password 1"))
	assert.Equal(t, http.StatusUnauthorized, call("GET", "/api/me", old, "").Code, "the reset ended the host's session")

	var answer resetAnswer
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &answer))
	access := answer.Data.AccessToken
	mine := tokenOf(call("POST", "/api/session", access, "")).Token
	assert.Equal(t, http.StatusOK, call("GET", "/api/me", mine, "").Code)
	assert.Equal(t, http.StatusUnauthorized, call("POST", "/api/session", access, "").Code, "exchanged once")
}
