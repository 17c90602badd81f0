package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
)

func TestGorillaMount(t *testing.T) {
	env := otpresettest.New(t)
	env.AddUser("+919999999999", "old password 1")
	srv := httptest.NewServer(newRouter(env.Handler))
	defer srv.Close()

	res, err := http.Get(srv.URL + "/")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 200, res.StatusCode, "the host's own route still works")

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api"+otpreset.Path+"?apikey="+otpresettest.APIKey, jsonBody(`{"phone":"+919999999999"}`))
	req.Header.Set("Content-Type", "application/json")
	newRouter(env.Handler).ServeHTTP(rec, req)
	require.Equal(t, 200, rec.Code, rec.Body.String())

	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodPut, "/api"+otpreset.Path+"?apikey="+otpresettest.APIKey,
		jsonBody(`{"phone":"+919999999999","otp":"`+env.Code("+919999999999")+`","Password":"new password 1"}`))
	newRouter(env.Handler).ServeHTTP(rec, req)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.True(t, env.PasswordWorks("+919999999999", "new password 1"))
}

func jsonBody(s string) *strings.Reader { return strings.NewReader(s) }
