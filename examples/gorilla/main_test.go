package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset/otpresettest"
)

// TestGorillaMount drives the host's router, middleware included, with
// otpresettest: Mount sends every request through it under /api.
func TestGorillaMount(t *testing.T) {
	env := otpresettest.New(t)
	env.Mount(newRouter(env.Handler), "/api")
	env.AddUser("+919999999999", "old password 1")

	rec := httptest.NewRecorder()
	env.Router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusOK, rec.Code, "the host's own route still works")

	require.Equal(t, http.StatusOK, env.Send("+919999999999").Code)
	rec = env.Reset("+919999999999", env.Code("+919999999999"), "new password 1")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.True(t, env.PasswordWorks("+919999999999", "new password 1"))
	assert.Equal(t, http.StatusNotFound, env.Do(http.MethodPost, "/identity/v2/auth/password/otp", "{}", nil).Code,
		"only under /api")
}
