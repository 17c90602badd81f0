package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/middleware/stdlib"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/password"
)

// The host's login must not undo what the reset endpoint guards: a login
// that answers an unknown phone at once and a known one after an argon2id
// comparison tells anyone which phones have accounts, and a login without a
// limit lets passwords be guessed at any speed.

// loginRate is how many logins one client IP may try: 20 per 15 minutes.
var loginRate = limiter.Rate{Period: 15 * time.Minute, Limit: 20}

// passwordVerifier checks a typed password against a stored hash
// (password.Argon2idHasher: NFKC, as otpreset hashes, and a bounded number
// of hashes at once).
type passwordVerifier interface {
	Verify(ctx context.Context, pw, hash string) (bool, error)
}

// loginGuard is the login's per-IP limit and its password check.
type loginGuard struct {
	limiter *stdlib.Middleware
	hasher  passwordVerifier
	// dummyHash is compared against when the phone is unknown, so that an
	// unknown phone costs the same argon2id work as a known one. It is made
	// at the first login that needs it, not at start-up.
	dummyOnce sync.Once
	dummyHash string
	dummyErr  error
}

func (g *loginGuard) init() error {
	g.limiter = stdlib.NewMiddleware(limiter.New(memory.NewStore(), loginRate),
		stdlib.WithLimitReachedHandler(tooManyLogins))
	g.hasher = password.NewArgon2idHasher(nil, 0)
	return nil
}

// dummy is a hash of a random password under the default parameters.
func (g *loginGuard) dummy(ctx context.Context) (string, error) {
	g.dummyOnce.Do(func() {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		g.dummyHash, g.dummyErr = password.NewArgon2idHasher(nil, 1).Hash(ctx, hex.EncodeToString(b))
	})
	return g.dummyHash, g.dummyErr
}

// limit refuses a client IP's logins past loginRate (429, with
// Retry-After). The client IP is the connection's: behind a proxy, give the
// limiter the proxy's header (limiter.WithClientIPHeader) and only then.
func (g *loginGuard) limit(next http.Handler) http.Handler { return g.limiter.Handler(next) }

// tooManyLogins is the answer past the limit, in the library's shape for a
// flood from one IP.
func tooManyLogins(w http.ResponseWriter, r *http.Request) {
	if reset, err := strconv.ParseInt(w.Header().Get("X-RateLimit-Reset"), 10, 64); err == nil {
		w.Header().Set("Retry-After", strconv.FormatInt(max(1, reset-time.Now().Unix()), 10))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(`{"ErrorCode":429,"Message":"Too many requests in a particular time frame","Description":"Too many login attempts from this address; try again later.","IsProviderError":false,"ProviderErrorResponse":null}`))
}

// checkPassword finds the user of phone (any form otpreset.NormalizePhone
// reads; stored as E.164) and compares password with the user's hash. An
// unknown phone is compared with a dummy hash, so it takes as long; ok is
// false for it. err is for faults only.
func (a *app) checkPassword(ctx context.Context, phone, pw string) (id int64, ok bool, err error) {
	var hash string
	e164, err := otpreset.NormalizePhone(phone)
	if err == nil {
		err = a.db.QueryRowContext(ctx, `SELECT id, password_hash FROM users WHERE phone = ?`, e164).Scan(&id, &hash)
	}
	known := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) && !errors.Is(err, otpreset.ErrInvalidPhone) {
		return 0, false, err
	}
	if !known {
		if hash, err = a.guard.dummy(ctx); err != nil {
			return 0, false, err
		}
	}
	ok, err = a.guard.hasher.Verify(ctx, pw, hash)
	if err != nil {
		return 0, false, err
	}
	return id, ok && known, nil
}
