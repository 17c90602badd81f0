// Command hostapp is a small application that already had users before it
// adopted otpreset: its own SQLite database with a users table keyed by an
// INTEGER id, no tenant and no profile column, its own sessions, its own
// login, and a gorilla/mux router. It is README's "Bring your own users
// table", runnable.
//
// otpreset reads and updates the host's users table through
// sqlite.HostUsers (three SQL statements) and keeps only its codes, sessions
// and webhook outbox in otpreset_ tables of the same database. The host's
// own sessions are of two kinds, as many hosts have: cookie sessions of
// alexedwards/scs for its web pages, and JWTs for its API clients. A reset
// ends both through Config.AfterReset (sessions.go), which no client can
// switch off: scs's sessions of the user are destroyed, and the user's
// token_version is bumped, so a JWT issued before the reset is refused. The
// access_token a reset answers with is exchanged for a host session (POST
// /api/session with Authorization: Bearer <access_token>). The host's login
// is limited per client IP and costs the same argon2id comparison whether
// or not the phone exists (login.go). app_test.go runs storetest on the
// users table and drives the host's router with otpresettest; deps_test.go
// checks what a host links.
//
//	go run ./examples/hostapp -db app.db
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/mux"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/store/sqlite"
)

// schema is the host's own, from before otpreset: its users, with the
// token_version its JWTs carry (sessions.go). scs keeps the cookie
// sessions (in memory here; scs has stores for SQLite, PostgreSQL, Redis).
const schema = `
CREATE TABLE IF NOT EXISTS users (
	id            INTEGER PRIMARY KEY,
	phone         TEXT UNIQUE,
	password_hash TEXT,
	token_version INTEGER NOT NULL DEFAULT 0
);`

// hostUsers adapts the users table. The table has no tenant and no profile,
// so @tenant_id and @profile go unused and the profile reads as NULL ({}).
// @phone is E.164 (+919999999999), as the phones of users are stored here
// (otpreset.NormalizePhone gives that form). AddUser lets the id be
// assigned by SQLite; only tests seed users with it.
var hostUsers = sqlite.HostUsers{
	UserByPhone:    `SELECT id, password_hash, NULL FROM users WHERE phone = @phone`,
	UpdatePassword: `UPDATE users SET password_hash = @password_hash WHERE id = @user_id`,
	AddUser:        `INSERT INTO users (phone, password_hash) VALUES (@phone, @password_hash)`,
}

// tenantID is the host's one tenant.
const tenantID = "hostapp"

// app is the host: its database, the otpreset store over it, its sessions
// and the guard of its login.
type app struct {
	db       *sql.DB
	store    *sqlite.Store
	now      func() time.Time
	log      *slog.Logger
	sessions *scs.SessionManager // cookie sessions
	jwtKey   []byte              // signs the API clients' JWTs
	guard    loginGuard          // the login's rate limit and password check
}

// newApp creates the host's schema (its own migration, run by the host) and
// otpreset's (Migrate: otpreset_ tables only, no otpreset_users).
func newApp(ctx context.Context, db *sql.DB, now func() time.Time) (*app, error) {
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("host schema: %w", err)
	}
	if err := addTokenVersion(ctx, db); err != nil {
		return nil, fmt.Errorf("host schema: %w", err)
	}
	st := sqlite.New(db, sqlite.Config{HostUsers: &hostUsers})
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	a := &app{db: db, store: st, now: now, log: slog.Default(), sessions: newSessions(), jwtKey: newJWTKey()}
	if err := a.guard.init(); err != nil {
		return nil, err
	}
	return a, nil
}

// router is the host's router: its own routes, otpreset under /api.
func (a *app) router(reset http.Handler) *mux.Router {
	r := mux.NewRouter()
	api := r.PathPrefix("/api").Subrouter()
	api.Handle(otpreset.Path, reset).Methods(http.MethodPost, http.MethodPut)
	api.Handle("/login", a.guard.limit(a.sessions.LoadAndSave(http.HandlerFunc(a.login)))).Methods(http.MethodPost)
	api.Handle("/session", a.sessions.LoadAndSave(http.HandlerFunc(a.exchange))).Methods(http.MethodPost)
	api.Handle("/me", a.sessions.LoadAndSave(http.HandlerFunc(a.me))).Methods(http.MethodGet)
	return r
}

// login is the host's own: phone and password for a host session token.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ Phone, Password string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, 1090, "The request body is not formatted correctly", `Send {"phone","password"}.`)
		return
	}
	id, ok, err := a.checkPassword(r.Context(), in.Phone, in.Password)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		serverError(w)
		return
	}
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(otpreset.AuthFailedBody))
		return
	}
	a.issue(w, r, id)
}

// apiError is LoginRadius's error shape, which the host's login answers in
// as otpreset does, so one client (and LoginRadius's SDKs, which read only
// ErrorCode) reads both.
type apiError struct {
	ErrorCode             int             `json:"ErrorCode"`
	Message               string          `json:"Message"`
	Description           string          `json:"Description"`
	IsProviderError       bool            `json:"IsProviderError"`
	ProviderErrorResponse json.RawMessage `json:"ProviderErrorResponse"`
}

// writeError answers status with a LoginRadius error body.
func writeError(w http.ResponseWriter, status, code int, message, description string) {
	b, _ := json.Marshal(apiError{ErrorCode: code, Message: message, Description: description, ProviderErrorResponse: json.RawMessage("null")})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// serverError answers 950, LoginRadius's code for a fault on the server.
func serverError(w http.ResponseWriter) {
	writeError(w, http.StatusInternalServerError, 950, "Operation failed due to an unknown error", "An unknown error has occurred, please try again in a few minutes or contact your system admin.")
}

// exchange turns the access_token of a reset's answer into a host session.
// otpreset stored only its SHA-256 (otpreset.TokenHash); LookupSession finds
// it while it is live and says whose it is. The token is single use here:
// its otpreset session is revoked once exchanged.
func (a *app) exchange(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		http.Error(w, "no token", http.StatusUnauthorized)
		return
	}
	sess, err := a.store.LookupSession(r.Context(), tenantID, otpreset.TokenHash(token), a.now())
	if err != nil {
		http.Error(w, "token not valid", http.StatusUnauthorized)
		return
	}
	if _, err := a.store.RevokeSessions(r.Context(), tenantID, sess.UserID); err != nil {
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	var id int64
	if _, err := fmt.Sscan(sess.UserID, &id); err != nil {
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	a.issue(w, r, id)
}

// issue starts a host session of the user: a cookie session (scs, a new
// token, so a session fixed before the login is not carried over) and a JWT
// for API clients, answered as {"token": ...}.
func (a *app) issue(w http.ResponseWriter, r *http.Request, userID int64) {
	if err := a.sessions.RenewToken(r.Context()); err != nil {
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	a.sessions.Put(r.Context(), sessionUserKey, userID)
	token, err := a.issueJWT(r.Context(), userID)
	if err != nil {
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"token": token})
}

// me answers the user of a host session, a bearer JWT or a session cookie,
// or 401.
func (a *app) me(w http.ResponseWriter, r *http.Request) {
	var id int64
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		id = a.jwtUser(r.Context(), token)
	} else {
		id = a.sessions.GetInt64(r.Context(), sessionUserKey)
	}
	if id == 0 {
		http.Error(w, "not logged in", http.StatusUnauthorized)
		return
	}
	fmt.Fprintf(w, "user %d\n", id)
}
