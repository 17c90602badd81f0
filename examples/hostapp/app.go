// Command hostapp is a small application that already had users before it
// adopted otpreset: its own SQLite database with a users table keyed by an
// INTEGER id, no tenant and no profile column, its own sessions, its own
// login, and a gorilla/mux router. It is README's "Bring your own users
// table", runnable.
//
// otpreset reads and updates the host's users table through
// sqlite.HostUsers (three SQL statements) and keeps only its codes, sessions
// and webhook outbox in otpreset_ tables of the same database. A reset ends
// the host's own sessions in the reset's transaction (a trigger on the users
// table). The access_token a reset answers with is exchanged for a host
// session (POST /api/session with Authorization: Bearer <access_token>).
// app_test.go runs storetest on the users table and drives the host's router
// with otpresettest; deps_test.go checks what a host links.
//
//	go run ./examples/hostapp -db app.db
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/gorilla/mux"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/store/sqlite"
)

// schema is the host's own, from before otpreset, plus one trigger: when a
// password changes (by otpreset's reset or by the host), every session of
// the user ends. otpreset runs its UPDATE inside the reset's transaction, so
// the sessions end if and only if the new password is committed.
const schema = `
CREATE TABLE IF NOT EXISTS users (
	id            INTEGER PRIMARY KEY,
	phone         TEXT UNIQUE,
	password_hash TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
	token_hash BLOB PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id),
	expires_at INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS users_password_changed AFTER UPDATE OF password_hash ON users
BEGIN
	DELETE FROM sessions WHERE user_id = NEW.id;
END;`

// hostUsers adapts the users table. The table has no tenant and no profile,
// so @tenant_id and @profile go unused and the profile reads as NULL ({}).
// AddUser lets the id be assigned by SQLite; only tests seed users with it.
var hostUsers = sqlite.HostUsers{
	UserByPhone:    `SELECT id, password_hash, NULL FROM users WHERE phone = @phone`,
	UpdatePassword: `UPDATE users SET password_hash = @password_hash WHERE id = @user_id`,
	AddUser:        `INSERT INTO users (phone, password_hash) VALUES (@phone, @password_hash)`,
}

// tenantID is the host's one tenant.
const tenantID = "hostapp"

// app is the host: its database and the otpreset store over it.
type app struct {
	db    *sql.DB
	store *sqlite.Store
	now   func() time.Time
}

// newApp creates the host's schema (its own migration, run by the host) and
// otpreset's (Migrate: otpreset_ tables only, no otpreset_users).
func newApp(ctx context.Context, db *sql.DB, now func() time.Time) (*app, error) {
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("host schema: %w", err)
	}
	st := sqlite.New(db, sqlite.Config{HostUsers: &hostUsers})
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	return &app{db: db, store: st, now: now}, nil
}

// router is the host's router: its own routes, otpreset under /api.
func (a *app) router(reset http.Handler) *mux.Router {
	r := mux.NewRouter()
	api := r.PathPrefix("/api").Subrouter()
	api.Handle(otpreset.Path, reset).Methods(http.MethodPost, http.MethodPut)
	api.HandleFunc("/login", a.login).Methods(http.MethodPost)
	api.HandleFunc("/session", a.exchange).Methods(http.MethodPost)
	api.HandleFunc("/me", a.me).Methods(http.MethodGet)
	return r
}

// login is the host's own: phone and password for a host session token.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ Phone, Password string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var id int64
	var hash string
	err := a.db.QueryRowContext(r.Context(), `SELECT id, password_hash FROM users WHERE phone = ?`, in.Phone).Scan(&id, &hash)
	ok := err == nil
	if ok {
		ok, err = argon2id.ComparePasswordAndHash(in.Password, hash)
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	if !ok {
		http.Error(w, "wrong phone or password", http.StatusUnauthorized)
		return
	}
	a.issue(w, r, id)
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

// issue creates a host session and answers its token.
func (a *app) issue(w http.ResponseWriter, r *http.Request, userID int64) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	_, err := a.db.ExecContext(r.Context(), `INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?, ?, ?)`,
		sum[:], userID, a.now().Add(24*time.Hour).Unix())
	if err != nil {
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"token": token})
}

// me answers the user of a host session token, or 401.
func (a *app) me(w http.ResponseWriter, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	sum := sha256.Sum256([]byte(token))
	var id int64
	err := a.db.QueryRowContext(r.Context(), `SELECT user_id FROM sessions WHERE token_hash = ? AND expires_at > ?`,
		sum[:], a.now().Unix()).Scan(&id)
	if err != nil {
		http.Error(w, "not logged in", http.StatusUnauthorized)
		return
	}
	fmt.Fprintf(w, "user %d\n", id)
}
