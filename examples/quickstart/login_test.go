package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

const (
	loginKey   = "login-key"
	knownPhone = "+919999999999"
	knownPass  = "right password"
)

// countingVerifier records the hash each Verify compares against.
type countingVerifier struct {
	hashVerifier
	mu     sync.Mutex
	hashes []string
}

func (c *countingVerifier) Verify(ctx context.Context, pw, hash string) (bool, error) {
	c.mu.Lock()
	c.hashes = append(c.hashes, hash)
	c.mu.Unlock()
	return c.hashVerifier.Verify(ctx, pw, hash)
}

func (c *countingVerifier) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hashes
	c.hashes = nil
	return h
}

// brokenUsers is a users store that is down.
type brokenUsers struct{ store.Users }

func (brokenUsers) UserByPhone(context.Context, string, string) (store.User, error) {
	return store.User{}, errors.New("connection refused")
}

// newTestLogin is the quickstart's login over a memory store holding one
// user, with cheap argon2id parameters.
func newTestLogin(t *testing.T) (*loginHandler, *countingVerifier, *memstore.Store) {
	t.Helper()
	hasher := &countingVerifier{hashVerifier: password.NewArgon2idHasher(otpresettest.FastHasherParams, 0)}
	st := memstore.New()
	hash, err := hasher.Hash(t.Context(), knownPass)
	require.NoError(t, err)
	require.NoError(t, st.AddUser(t.Context(), store.User{TenantID: "t", ID: "u1", Phone: knownPhone, PasswordHash: hash, Profile: []byte(`{"Uid":"u1"}`)}))
	l, err := newLoginHandler(t.Context(), st, hasher, otpreset.Tenants{loginKey: {ID: "t"}})
	require.NoError(t, err)
	return l, hasher, st
}

func doLogin(h http.Handler, method, query, body string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/identity/v2/auth/login"+query, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Every failure of the login carries ErrorCode (upper case) with Message,
// Description, IsProviderError false and ProviderErrorResponse null, which
// LoginRadius's Node.js and Python SDKs need to see a failure at all; the
// 1409 answer also carries the seed's lower-case keys, as otpreset's does.
func TestLoginErrorsCarryErrorCode(t *testing.T) {
	l, _, _ := newTestLogin(t)
	broken, _, _ := newTestLogin(t)
	broken.users = brokenUsers{}
	ok := `{"phone":"` + knownPhone + `","password":"` + knownPass + `"}`
	for _, tc := range []struct {
		name          string
		h             http.Handler
		method, query string
		body          string
		header        http.Header
		status, code  int
	}{
		{"wrong password", l, "POST", "?apikey=" + loginKey, `{"phone":"` + knownPhone + `","password":"wrong password"}`, nil, 401, 1409},
		{"unknown phone", l, "POST", "?apikey=" + loginKey, `{"phone":"+919999999998","password":"` + knownPass + `"}`, nil, 401, 1409},
		{"not a phone", l, "POST", "?apikey=" + loginKey, `{"phone":"nope","password":"` + knownPass + `"}`, nil, 401, 1409},
		{"unknown api key", l, "POST", "?apiKey=nope", ok, nil, 403, 901},
		{"api keys that disagree", l, "POST", "?apikey=" + loginKey, ok, http.Header{"X-Loginradius-Apikey": {"other"}}, 403, 901},
		{"no api key", l, "POST", "", ok, nil, 400, 908},
		{"body not JSON", l, "POST", "?apikey=" + loginKey, `phone=1`, nil, 400, 1090},
		{"wrong method", l, "GET", "?apikey=" + loginKey, "", nil, 405, 405},
		{"store down", broken, "POST", "?apikey=" + loginKey, ok, nil, 500, 950},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := doLogin(tc.h, tc.method, tc.query, tc.body, tc.header)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			var got map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got), rec.Body.String())
			require.Contains(t, got, "ErrorCode", "LoginRadius's SDKs read ErrorCode, and see a success without it")
			assert.EqualValues(t, tc.code, got["ErrorCode"])
			assert.NotEmpty(t, got["Message"])
			assert.NotEmpty(t, got["Description"])
			assert.Equal(t, false, got["IsProviderError"])
			v, present := got["ProviderErrorResponse"]
			assert.True(t, present && v == nil, "ProviderErrorResponse: null")
			if tc.code == 1409 {
				assert.EqualValues(t, 1409, got["errorCode"])
				assert.Equal(t, got["Message"], got["message"])
				assert.Equal(t, got["Description"], got["description"])
			}
		})
	}
	// The right password still logs in (the table's failures are failures
	// of what they change, not of everything).
	rec := doLogin(l, "POST", "?apikey="+loginKey, ok, http.Header{"X-Loginradius-Apikey": {loginKey}})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.NotContains(t, rec.Body.String(), "ErrorCode")
	assert.Contains(t, rec.Body.String(), `"Password":"********"`)
}

// The 1409 body is the one otpreset's contract gives a failed reset, byte
// for byte.
func TestLoginAuthFailedBody(t *testing.T) {
	assert.JSONEq(t, `{"errorCode":1409,"message":"Authentication failed","description":"The credentials provided could not be authenticated.","ErrorCode":1409,"Message":"Authentication failed","Description":"The credentials provided could not be authenticated.","IsProviderError":false,"ProviderErrorResponse":null}`, authFailed)
}

// An unknown (or malformed) phone is compared against a dummy hash made with
// the hasher's own parameters, once, as a known phone is compared against
// its user's hash: both paths do the same argon2id work, so the login's
// timing tells no one which phones exist.
func TestLoginComparesForUnknownPhone(t *testing.T) {
	l, hasher, st := newTestLogin(t)
	u, err := st.UserByPhone(t.Context(), "t", knownPhone)
	require.NoError(t, err)

	rec := doLogin(l, "POST", "?apikey="+loginKey, `{"phone":"`+knownPhone+`","password":"wrong password"}`, nil)
	require.Equal(t, 401, rec.Code)
	assert.Equal(t, []string{u.PasswordHash}, hasher.take(), "a known phone: one comparison with its hash")

	for _, phone := range []string{"+919999999998", "nope"} {
		rec = doLogin(l, "POST", "?apikey="+loginKey, `{"phone":"`+phone+`","password":"`+knownPass+`"}`, nil)
		require.Equal(t, 401, rec.Code)
		got := hasher.take()
		require.Len(t, got, 1, "%s: one comparison, as for a known phone", phone)
		assert.Equal(t, l.dummyHash, got[0])
	}

	// The dummy costs what a real hash costs: the same argon2id parameters.
	real, _, _, err := argon2id.DecodeHash(u.PasswordHash)
	require.NoError(t, err)
	dummy, _, _, err := argon2id.DecodeHash(l.dummyHash)
	require.NoError(t, err)
	assert.Equal(t, *real, *dummy)
	assert.Equal(t, otpresettest.FastHasherParams.Memory, dummy.Memory, "made by the login's hasher")
}

// Attempts are limited per client IP address (an IPv6 client by its /64):
// past the limit the login answers 429 with Retry-After and the
// X-RateLimit headers, whatever the password, and another address is not
// affected.
func TestLoginRateLimitedPerIP(t *testing.T) {
	l, hasher, _ := newTestLogin(t)
	l.limit = limiter.New(memory.NewStore(), limiter.Rate{Period: time.Hour, Limit: 3}, limiter.WithIPv6Mask(l.limit.Options.IPv6Mask))
	from := func(addr, pw string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/identity/v2/auth/login?apikey="+loginKey, strings.NewReader(`{"phone":"`+knownPhone+`","password":"`+pw+`"}`))
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		l.ServeHTTP(rec, req)
		return rec
	}
	for i := range 3 {
		rec := from("[2001:db8:1:2::1]:1000", "wrong password")
		require.Equal(t, 401, rec.Code, "attempt %d", i+1)
		assert.Equal(t, "3", rec.Header().Get("X-RateLimit-Limit"))
		assert.Equal(t, strconv.Itoa(2-i), rec.Header().Get("X-RateLimit-Remaining"))
	}
	hasher.take()
	// Same /64, another address in it; even the right password.
	rec := from("[2001:db8:1:2::ffff]:1000", knownPass)
	require.Equal(t, http.StatusTooManyRequests, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"ErrorCode":429,"Message":"Too many requests in a particular time frame","Description":"Too many requests in a particular time frame","IsProviderError":false,"ProviderErrorResponse":null}`, rec.Body.String())
	retry, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	require.NoError(t, err)
	assert.True(t, retry >= 1 && retry <= 3600, "Retry-After %d", retry)
	assert.Equal(t, "0", rec.Header().Get("X-RateLimit-Remaining"))
	assert.NotEmpty(t, rec.Header().Get("X-RateLimit-Reset"))
	assert.Empty(t, hasher.take(), "a limited attempt costs no hash")

	assert.Equal(t, 200, from("[2001:db8:1:3::1]:1000", knownPass).Code, "another /64")
	assert.Equal(t, 200, from("192.0.2.7:1000", knownPass).Code, "another address")
	for range 3 {
		from("192.0.2.8:1000", "wrong password")
	}
	assert.Equal(t, http.StatusTooManyRequests, from("192.0.2.8:1000", knownPass).Code, "an IPv4 address is counted alone")
	assert.Equal(t, 200, from("192.0.2.9:1000", knownPass).Code)
}

// The rate the quickstart starts with.
func TestLoginRate(t *testing.T) {
	l, _, _ := newTestLogin(t)
	assert.Equal(t, int64(10), l.limit.Rate.Limit)
	assert.Equal(t, time.Minute, l.limit.Rate.Period)
	ones, _ := l.limit.Options.IPv6Mask.Size()
	assert.Equal(t, 64, ones)
}
