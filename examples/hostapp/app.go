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
// The host's login answers its failures in LoginRadius's error shape (with
// ErrorCode, which LoginRadius's SDKs read), is limited per client IP, and
// compares an unknown phone's password against a dummy hash, so that it
// takes as long as a known phone's and tells no one which phones exist.
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
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/password"
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
	// hasher hashes and compares passwords; main gives it to otpreset
	// (Config.Hasher), so the reset and the login share its bound on
	// concurrent argon2id work, and memory.
	hasher *password.Argon2idHasher
	// passwords checks a typed password against a stored hash. Its Verify
	// normalises the typed password (NFKC) as otpreset does before hashing,
	// so a password set by a reset logs in here whatever its letters.
	passwords verifier
	// dummyHash is compared against when the phone has no user, so that an
	// unknown phone takes as long as a known one: the login tells no one
	// which phones have accounts (otpreset's reset tells no one either).
	// newApp sets it to the constant dummyHash.
	dummyHash string
	// loginLimit counts login attempts per client IP (IPv4 address, IPv6
	// /64 network): loginRate.
	loginLimit *limiter.Limiter
}

// verifier checks a typed password against a stored hash.
type verifier interface {
	Verify(ctx context.Context, pw, hash string) (bool, error)
}

// dummyHash is an argon2id hash, with the parameters otpreset's default
// hasher uses (password.DefaultArgon2idParams), of a random password that no
// one kept. A constant costs nothing at start; its parameters must follow the
// hasher's, which login_test.go checks.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$KH1J9S9CIjIsWm8wAdXuxQ$U2EFYLWtpTjJlG6KKY0kUVXUrowoAp1lc0R5Ot6Apg0"

// loginRate is how many logins one client IP address (an IPv6 /64 network)
// may try: 10 a minute.
var loginRate = limiter.Rate{Period: time.Minute, Limit: 10}

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
	// otpreset's default hasher: the parameters of dummyHash.
	hasher := password.NewArgon2idHasher(nil, 0)
	return &app{
		db: db, store: st, now: now,
		hasher: hasher, passwords: hasher, dummyHash: dummyHash,
		loginLimit: limiter.New(memory.NewStore(), loginRate, limiter.WithIPv6Mask(net.CIDRMask(64, 128))),
	}, nil
}

// router is the host's router: its own routes, otpreset under /api.
func (a *app) router(reset http.Handler) *mux.Router {
	r := mux.NewRouter()
	api := r.PathPrefix("/api").Subrouter()
	api.Handle(otpreset.Path, reset).Methods(http.MethodPost, http.MethodPut)
	// The login checks its method itself, to answer a wrong one in
	// LoginRadius's error shape: gorilla's 405 has an empty body, and a
	// later route of a subrouter turns it into a 404.
	api.HandleFunc("/login", a.login)
	api.HandleFunc("/session", a.exchange).Methods(http.MethodPost)
	api.HandleFunc("/me", a.me).Methods(http.MethodGet)
	return r
}

// authFailed answers a failed login: LoginRadius's 1409, with the seed's
// lower-case keys and the documented upper-case ones, as otpreset answers a
// failed reset. LoginRadius's Node.js and Python SDKs read only ErrorCode.
const authFailed = `{"errorCode":1409,"message":"Authentication failed","description":"The credentials provided could not be authenticated.",` +
	`"ErrorCode":1409,"Message":"Authentication failed","Description":"The credentials provided could not be authenticated.","IsProviderError":false,"ProviderErrorResponse":null}`

// apiError is LoginRadius's error shape, which the host's login answers in
// as otpreset does, so one client reads both.
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

// login is the host's own: phone and password for a host session token.
// A wrong password, an unknown phone and a malformed one get one answer
// (401, 1409) after one argon2id comparison each (an unknown phone's is
// against dummyHash). Attempts are limited per client IP (loginRate).
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, 405, "Method not allowed", "Use POST.")
		return
	}
	lc, err := a.loginLimit.Get(r.Context(), a.loginLimit.GetIPKey(r))
	if err != nil {
		serverError(w)
		return
	}
	w.Header().Set("X-RateLimit-Limit", strconv.FormatInt(lc.Limit, 10))
	w.Header().Set("X-RateLimit-Remaining", strconv.FormatInt(lc.Remaining, 10))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(lc.Reset, 10))
	if lc.Reached {
		w.Header().Set("Retry-After", strconv.FormatInt(max(1, lc.Reset-time.Now().Unix()), 10))
		writeError(w, http.StatusTooManyRequests, 429, "Too many requests in a particular time frame", "Too many requests in a particular time frame")
		return
	}
	var in struct{ Phone, Password string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, 1090, "The request body is not formatted correctly", `Send {"phone","password"}.`)
		return
	}
	var id int64
	hash, known := a.dummyHash, false
	// Phones are stored in E.164, as otpreset looks them up.
	if phone, err := otpreset.NormalizePhone(in.Phone); err == nil {
		var stored string
		err = a.db.QueryRowContext(r.Context(), `SELECT id, password_hash FROM users WHERE phone = ?`, phone).Scan(&id, &stored)
		switch {
		case err == nil:
			hash, known = stored, true
		case !errors.Is(err, sql.ErrNoRows):
			serverError(w)
			return
		}
	}
	ok, err := a.passwords.Verify(r.Context(), in.Password, hash)
	if err != nil {
		serverError(w) // a stored hash that is not argon2id's, or no hashing slot
		return
	}
	if !ok || !known {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(authFailed))
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
