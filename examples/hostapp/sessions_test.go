package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
)

// host is the host app under test: its router, with otpreset mounted and
// AfterReset wired as main does.
type host struct {
	*app
	env *otpresettest.Env
}

func newHost(t *testing.T) *host {
	t.Helper()
	a := newTestApp(t)
	env := otpresettest.New(t, otpresettest.WithStore(a.store), func(c *otpreset.Config, tn *otpreset.Tenant) {
		tn.ID = tenantID
		c.AfterReset = a.afterReset
	})
	a.now = env.Clock.Now
	env.Mount(a.router(env.Handler), "/api")
	return &host{a, env}
}

// login is one device's login: its session cookie and its JWT.
type login struct{ cookie, jwt string }

func (h *host) login(t *testing.T, phone, password string) login {
	t.Helper()
	rec := h.env.Do(http.MethodPost, "/api/login", map[string]string{"phone": phone, "password": password}, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var answer struct{ Token string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &answer))
	var l login
	for _, c := range rec.Result().Cookies() {
		if c.Name == "hostapp_session" {
			l.cookie = c.Name + "=" + c.Value
		}
	}
	require.NotEmpty(t, l.cookie, "the login sets a session cookie")
	l.jwt = answer.Token
	return l
}

// works reports, for the cookie and for the JWT, whether /api/me accepts it.
func (h *host) works(l login) (cookie, jwt bool) {
	byCookie := h.env.Do(http.MethodGet, "/api/me", nil, http.Header{"Cookie": {l.cookie}})
	byJWT := h.env.Do(http.MethodGet, "/api/me", nil, http.Header{"Authorization": {"Bearer " + l.jwt}})
	return byCookie.Code == http.StatusOK, byJWT.Code == http.StatusOK
}

const (
	alice = "+919999999999"
	bob   = "+919888888888"
)

// TestResetEndsEverySession: a reset ends every session of the user, cookie
// sessions (scs) and JWTs alike, on every device, whatever the client asks
// of webhooks; the sessions of other users go on, and the user logs in
// again with the new password.
func TestResetEndsEverySession(t *testing.T) {
	for _, tc := range []struct {
		name     string
		query    string
		header   http.Header
		webhooks int
	}{
		{"webhooks on", "", nil, 1},
		{"prevent_webhook=true", "&prevent_webhook=true", nil, 0},
		{"X-PreventWebhook: true", "", http.Header{"X-Preventwebhook": {"true"}}, 0},
		{"both, as README's curl sends", "&prevent_webhook=true", http.Header{"X-Preventwebhook": {"true"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			h.env.AddUser(alice, "old password 1")
			h.env.AddUser(bob, "bob's password")
			phone, laptop := h.login(t, alice, "old password 1"), h.login(t, alice, "old password 1")
			other := h.login(t, bob, "bob's password")
			for _, l := range []login{phone, laptop, other} {
				cookie, jwt := h.works(l)
				require.True(t, cookie && jwt, "logged in before the reset")
			}

			require.Equal(t, http.StatusOK, h.env.Send(alice).Code)
			rec := h.env.Do(http.MethodPut, h.env.Path()+"?apikey="+otpresettest.APIKey+tc.query,
				map[string]string{"phone": alice, "otp": h.env.Code(alice), "Password": "new password 1"}, tc.header)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Len(t, h.env.Webhooks.Events(), tc.webhooks, "the client's choice of webhooks is honoured")

			for name, l := range map[string]login{"phone": phone, "laptop": laptop} {
				cookie, jwt := h.works(l)
				assert.False(t, cookie, "%s's cookie session outlived the reset", name)
				assert.False(t, jwt, "%s's JWT outlived the reset", name)
			}
			cookie, jwt := h.works(other)
			assert.True(t, cookie && jwt, "another user's sessions end with the reset")
			again := h.login(t, alice, "new password 1")
			cookie, jwt = h.works(again)
			assert.True(t, cookie && jwt, "a login after the reset works")
		})
	}
}

// TestFailedResetEndsNoSession: a reset that does not happen (a wrong code)
// ends nothing.
func TestFailedResetEndsNoSession(t *testing.T) {
	h := newHost(t)
	h.env.AddUser(alice, "old password 1")
	l := h.login(t, alice, "old password 1")
	require.Equal(t, http.StatusOK, h.env.Send(alice).Code)
	wrong := "000000"
	if h.env.Code(alice) == wrong {
		wrong = "111111"
	}
	require.Equal(t, http.StatusUnauthorized, h.env.Reset(alice, wrong, "new password 1").Code)
	cookie, jwt := h.works(l)
	assert.True(t, cookie && jwt)
}

// TestJWTRefused: the JWT check refuses what it must, not only a version
// from before a reset.
func TestJWTRefused(t *testing.T) {
	h := newHost(t)
	u := h.env.AddUser(alice, "old password 1")
	l := h.login(t, alice, "old password 1")
	require.NotZero(t, h.jwtUser(t.Context(), l.jwt))
	id := u.ID

	sign := func(key any, m jwt.SigningMethod, c claims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		require.NoError(t, err)
		return s
	}
	now := h.now()
	valid := claims{RegisteredClaims: jwt.RegisteredClaims{Subject: id, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
	future := valid
	future.Version = 1
	noExpiry := valid
	noExpiry.ExpiresAt = nil
	for name, token := range map[string]string{
		"another key":         sign([]byte("not the host's key, 32 bytes long"), jwt.SigningMethodHS256, valid),
		"alg none":            sign(jwt.UnsafeAllowNoneSignatureType, jwt.SigningMethodNone, valid),
		"a version not given": sign(h.jwtKey, jwt.SigningMethodHS256, future),
		"no expiry":           sign(h.jwtKey, jwt.SigningMethodHS256, noExpiry),
		"garbage":             "a.b.c",
	} {
		assert.Zero(t, h.jwtUser(t.Context(), token), name)
	}
	assert.NotZero(t, h.jwtUser(t.Context(), sign(h.jwtKey, jwt.SigningMethodHS256, valid)), "the same claims, rightly signed")
	h.env.Clock.Advance(jwtLifetime + time.Second)
	assert.Zero(t, h.jwtUser(t.Context(), l.jwt), "expired")
}

// countingVerifier counts the password comparisons of the login.
type countingVerifier struct {
	passwordVerifier
	n atomic.Int32
}

func (c *countingVerifier) Verify(ctx context.Context, pw, hash string) (bool, error) {
	c.n.Add(1)
	return c.passwordVerifier.Verify(ctx, pw, hash)
}

// TestLoginGuard: the host's login costs one password comparison whatever
// the phone (known, unknown, not a phone), reads phones in any form, and is
// limited per client IP with the library's 429 answer.
func TestLoginGuard(t *testing.T) {
	h := newHost(t)
	h.env.AddUser(alice, "old password 1")
	counter := &countingVerifier{passwordVerifier: h.guard.hasher}
	h.guard.hasher = counter
	router := h.router(h.env.Handler)
	loginFrom := func(ip, phone, password string) *httptest.ResponseRecorder {
		body := `{"phone":"` + phone + `","password":"` + password + `"}`
		req := httptest.NewRequest(http.MethodPost, "/api/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = ip + ":5555"
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		return rec
	}

	for _, tc := range []struct {
		phone, password string
		status          int
	}{
		{alice, "old password 1", http.StatusOK},
		{"+91 99999 99999", "old password 1", http.StatusOK},
		{alice, "wrong password", http.StatusUnauthorized},
		{"+919777777777", "old password 1", http.StatusUnauthorized},
		{"not a phone", "old password 1", http.StatusUnauthorized},
	} {
		before := counter.n.Load()
		rec := loginFrom("198.51.100.1", tc.phone, tc.password)
		assert.Equal(t, tc.status, rec.Code, tc.phone)
		assert.Equal(t, int32(1), counter.n.Load()-before, "%s: one comparison, known phone or not", tc.phone)
		if tc.status == http.StatusUnauthorized {
			// LoginRadius's Node.js and Python SDKs read only ErrorCode.
			assert.JSONEq(t, otpreset.AuthFailedBody, rec.Body.String(), "%s: the 1409 answer with both casings", tc.phone)
		}
	}
	rec := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/login", strings.NewReader("not json"))
		req.RemoteAddr = "198.51.100.9:5555"
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		return rec
	}()
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), `"ErrorCode":1090`, "a malformed body is answered with ErrorCode too")

	for range int(loginRate.Limit) - 5 {
		require.Equal(t, http.StatusUnauthorized, loginFrom("198.51.100.1", alice, "wrong password").Code)
	}
	rec = loginFrom("198.51.100.1", alice, "old password 1")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "past %d logins from one address", loginRate.Limit)
	assert.JSONEq(t, `{"ErrorCode":429,"Message":"Too many requests in a particular time frame","Description":"Too many login attempts from this address; try again later.","IsProviderError":false,"ProviderErrorResponse":null}`, rec.Body.String())
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
	assert.Equal(t, http.StatusOK, loginFrom("203.0.113.7", alice, "old password 1").Code, "another address is not limited")
}
