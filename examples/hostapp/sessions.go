package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/golang-jwt/jwt/v5"

	"github.com/otpreset/go/otpreset"
)

// The host's sessions, and how a reset ends them.
//
// otpreset revokes its own sessions of the user in the reset, but the host's
// sessions are the host's: it ends them in Config.AfterReset, which otpreset
// calls once after every committed reset, whatever the client sent
// (prevent_webhook=true suppresses webhook deliveries only). Two kinds are
// shown, as a host may have either or both:
//
//   - Server-side sessions (alexedwards/scs): every session of the user is
//     destroyed in the session store. scs's Iterate reads every session; a
//     host with very many keeps an index of user -> session tokens instead
//     and deletes those (scs's Store.Delete).
//   - Self-contained tokens (JWT): a JWT cannot be recalled, so each carries
//     the user's token_version, the reset bumps it, and a token carrying an
//     older version is refused. A SQL host can also bump it in its HostUsers
//     UpdatePassword, in the reset's own transaction.
//
// A host whose sessions are rows in the same database can end them in that
// transaction too, with a trigger on the users table (README, "Bring your
// own users table").

// sessionUserKey is the scs session key holding the user's id.
const sessionUserKey = "userID"

// jwtLifetime is how long a JWT is good for without a reset.
const jwtLifetime = time.Hour

// newSessions is the host's cookie session manager: scs over its in-memory
// store (one process; scs has SQLite, PostgreSQL and Redis stores too).
func newSessions() *scs.SessionManager {
	sm := scs.New()
	sm.Store = memstore.New()
	sm.Lifetime = 24 * time.Hour
	sm.Cookie.Name = "hostapp_session"
	return sm
}

// newJWTKey draws the key the host signs its JWTs with. A real host keeps
// one (32 random bytes) in its secrets, so tokens outlive a restart.
func newJWTKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// addTokenVersion adds users.token_version to a users table made before it
// existed (the host's own migration).
func addTokenVersion(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info('users')`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		if name == "token_version" {
			return rows.Close()
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0`)
	return err
}

// claims are the host's JWT claims: the standard ones (sub is the user id)
// and the user's token_version when the token was issued.
type claims struct {
	jwt.RegisteredClaims
	Version int64 `json:"ver"`
}

// issueJWT signs a JWT for the user, carrying the user's current
// token_version.
func (a *app) issueJWT(ctx context.Context, userID int64) (string, error) {
	var version int64
	if err := a.db.QueryRowContext(ctx, `SELECT token_version FROM users WHERE id = ?`, userID).Scan(&version); err != nil {
		return "", err
	}
	now := a.now()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatInt(userID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(jwtLifetime)),
		},
		Version: version,
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(a.jwtKey)
}

// jwtUser returns the user a JWT is for, or 0 when it is not valid: a bad
// signature or algorithm, expired, or issued before the user's last reset
// (its version is older than the user's token_version).
func (a *app) jwtUser(ctx context.Context, token string) int64 {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return a.jwtKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(a.now))
	if err != nil {
		return 0
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil {
		return 0
	}
	var version int64
	if err := a.db.QueryRowContext(ctx, `SELECT token_version FROM users WHERE id = ?`, id).Scan(&version); err != nil {
		return 0
	}
	if c.Version != version {
		return 0 // issued before a reset (or a forged version, which the signature already refused)
	}
	return id
}

// afterReset is the host's Config.AfterReset: it ends every session of the
// user whose password was just reset, of both kinds. It cannot fail the
// reset (which is committed); what it cannot do is logged, loudly.
func (a *app) afterReset(ctx context.Context, e otpreset.ResetEvent) {
	if err := a.endSessions(ctx, e.UserID); err != nil {
		a.log.Error("hostapp: the sessions of a user whose password was reset were not all ended",
			"tenant", e.TenantID, "user", e.UserID, "err", err)
	}
}

// endSessions destroys the user's scs sessions and bumps the user's
// token_version, refusing every JWT issued before.
func (a *app) endSessions(ctx context.Context, userID string) error {
	id, err := strconv.ParseInt(userID, 10, 64)
	if err != nil {
		return fmt.Errorf("user id %q: %w", userID, err)
	}
	var problems []error
	if _, err := a.db.ExecContext(ctx, `UPDATE users SET token_version = token_version + 1 WHERE id = ?`, id); err != nil {
		problems = append(problems, fmt.Errorf("token_version: %w", err))
	}
	err = a.sessions.Iterate(ctx, func(ctx context.Context) error {
		if a.sessions.GetInt64(ctx, sessionUserKey) != id {
			return nil
		}
		return a.sessions.Destroy(ctx)
	})
	if err != nil {
		problems = append(problems, fmt.Errorf("scs sessions: %w", err))
	}
	return errors.Join(problems...)
}
