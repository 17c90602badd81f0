package main

import (
	"context"
	"encoding/json"
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

	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/otpreset/password"
)

const (
	hostPhone = "+14155550123"
	hostPass  = "host password 1"
)

// recordingVerifier records the hash of each comparison.
type recordingVerifier struct {
	verifier
	mu     sync.Mutex
	hashes []string
}

func (v *recordingVerifier) Verify(ctx context.Context, pw, hash string) (bool, error) {
	v.mu.Lock()
	v.hashes = append(v.hashes, hash)
	v.mu.Unlock()
	return v.verifier.Verify(ctx, pw, hash)
}

func (v *recordingVerifier) take() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	h := v.hashes
	v.hashes = nil
	return h
}

// newLoginApp is the host with one user and a recording verifier; it
// returns the user's hash. The hash has cheap parameters, so the tests run
// fast (a comparison takes the parameters of the hash it compares with).
func newLoginApp(t *testing.T) (*app, *recordingVerifier, string) {
	t.Helper()
	a := newTestApp(t)
	hash, err := password.NewArgon2idHasher(otpresettest.FastHasherParams, 0).Hash(t.Context(), password.Normalize(hostPass))
	require.NoError(t, err)
	_, err = a.db.Exec(`INSERT INTO users (id, phone, password_hash) VALUES (7, ?, ?)`, hostPhone, hash)
	require.NoError(t, err)
	rec := &recordingVerifier{verifier: a.passwords}
	a.passwords = rec
	return a, rec, hash
}

func loginAt(h http.Handler, method, remote, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/api/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if remote != "" {
		req.RemoteAddr = remote
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func creds(phone, pw string) string { return `{"phone":"` + phone + `","password":"` + pw + `"}` }

// Every failure of the host's login answers in LoginRadius's error shape,
// with ErrorCode (LoginRadius's Node.js and Python SDKs read nothing else);
// the 1409 answer also carries the seed's lower-case keys.
func TestLoginErrorsCarryErrorCode(t *testing.T) {
	a, _, _ := newLoginApp(t)
	r := a.router(http.NotFoundHandler())
	down, _, _ := newLoginApp(t)
	require.NoError(t, down.db.Close())
	for _, tc := range []struct {
		name, method, body string
		h                  http.Handler
		status, code       int
	}{
		{"wrong password", "POST", creds(hostPhone, "wrong password"), r, 401, 1409},
		{"unknown phone", "POST", creds("+14155550124", hostPass), r, 401, 1409},
		{"not a phone", "POST", creds("nope", hostPass), r, 401, 1409},
		{"body not JSON", "POST", "phone=1", r, 400, 1090},
		{"wrong method", "GET", "", r, 405, 405},
		{"database down", "POST", creds(hostPhone, hostPass), down.router(http.NotFoundHandler()), 500, 950},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := loginAt(tc.h, tc.method, "", tc.body)
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
	rec := loginAt(r, "POST", "", creds(hostPhone, hostPass))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"token":"`)
	// The phone as a person types it: looked up in E.164, as otpreset does.
	assert.Equal(t, 200, loginAt(r, "POST", "", creds("+1 (415) 555-0123", hostPass)).Code)
	// A password typed in full-width letters is the one a reset would set.
	fast := password.NewArgon2idHasher(otpresettest.FastHasherParams, 0)
	wide, err := fast.Hash(t.Context(), password.Normalize("ＷｉｄｅＰａｓｓ"))
	require.NoError(t, err)
	_, err = a.db.Exec(`UPDATE users SET password_hash = ? WHERE id = 7`, wide)
	require.NoError(t, err)
	assert.Equal(t, 200, loginAt(r, "POST", "", creds(hostPhone, "ＷｉｄｅＰａｓｓ")).Code)
}

// mustHash hashes pw as otpreset stores a new password (NFKC first).
func mustHash(t *testing.T, a *app, pw string) string {
	t.Helper()
	h, err := a.hasher.Hash(t.Context(), password.Normalize(pw))
	require.NoError(t, err)
	return h
}

// An unknown or malformed phone costs one argon2id comparison, against a
// dummy hash with the parameters of a real one, as a known phone costs one
// against its own: both paths call the hasher, so the login's timing does
// not tell which phones have accounts.
func TestLoginComparesForUnknownPhone(t *testing.T) {
	a, v, hash := newLoginApp(t)
	r := a.router(http.NotFoundHandler())

	require.Equal(t, 401, loginAt(r, "POST", "", creds(hostPhone, "wrong password")).Code)
	assert.Equal(t, []string{hash}, v.take(), "a known phone: one comparison with its hash")
	for _, phone := range []string{"+14155550124", "nope"} {
		require.Equal(t, 401, loginAt(r, "POST", "", creds(phone, hostPass)).Code)
		assert.Equal(t, []string{a.dummyHash}, v.take(), "%s: one comparison, with the dummy hash", phone)
	}
	// A password hashed by the hasher otpreset is given (main.go) has the
	// dummy's parameters.
	real, _, _, err := argon2id.DecodeHash(mustHash(t, a, "any password"))
	require.NoError(t, err)
	dummy, _, _, err := argon2id.DecodeHash(a.dummyHash)
	require.NoError(t, err)
	assert.Equal(t, *real, *dummy, "the dummy costs what a real hash costs")
	assert.Equal(t, password.DefaultArgon2idParams(), *dummy, "otpreset's default parameters")
}

// Logins are limited per client IP (an IPv6 client by its /64): past the
// limit 429 with Retry-After and X-RateLimit headers, without a comparison;
// other addresses go on.
func TestLoginRateLimitedPerIP(t *testing.T) {
	a, v, _ := newLoginApp(t)
	assert.Equal(t, int64(10), a.loginLimit.Rate.Limit, "the rate the app starts with")
	assert.Equal(t, time.Minute, a.loginLimit.Rate.Period)
	a.loginLimit = limiter.New(memory.NewStore(), limiter.Rate{Period: time.Hour, Limit: 2}, limiter.WithIPv6Mask(a.loginLimit.Options.IPv6Mask))
	r := a.router(http.NotFoundHandler())
	for i := range 2 {
		rec := loginAt(r, "POST", "[2001:db8::1]:1", creds(hostPhone, "wrong password"))
		require.Equal(t, 401, rec.Code)
		assert.Equal(t, strconv.Itoa(1-i), rec.Header().Get("X-RateLimit-Remaining"))
	}
	v.take()
	rec := loginAt(r, "POST", "[2001:db8::2]:1", creds(hostPhone, hostPass))
	require.Equal(t, http.StatusTooManyRequests, rec.Code, "the same /64: %s", rec.Body.String())
	assert.JSONEq(t, `{"ErrorCode":429,"Message":"Too many requests in a particular time frame","Description":"Too many requests in a particular time frame","IsProviderError":false,"ProviderErrorResponse":null}`, rec.Body.String())
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
	assert.Equal(t, "2", rec.Header().Get("X-RateLimit-Limit"))
	assert.Empty(t, v.take(), "refused before any comparison")
	assert.Equal(t, 200, loginAt(r, "POST", "[2001:db8:0:1::1]:1", creds(hostPhone, hostPass)).Code, "another /64")
	assert.Equal(t, 200, loginAt(r, "POST", "192.0.2.1:1", creds(hostPhone, hostPass)).Code)
}
