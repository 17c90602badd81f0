package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/store"
)

// loginHandler is example host code, not part of the library: LoginRadius's
// phone login, POST /identity/v2/auth/login?apikey= with {"phone","password"}.
// It answers 200 with the profile when the password matches, and every
// failure in LoginRadius's error shape, with ErrorCode, which LoginRadius's
// Node.js and Python SDKs read (they ignore the HTTP status). A wrong
// password, an unknown phone and a malformed phone get one answer (401, the
// 1409 body with both casings of its keys, as otpreset's reset answers) and
// cost the same: an unknown phone is compared against a dummy hash made with
// the hasher's own parameters. Attempts are limited per client IP address.
type loginHandler struct {
	users   store.Users
	hasher  verifier
	tenants otpreset.TenantResolver
	// dummyHash is a hash of a random password, compared against when the
	// phone has no user, so that an unknown phone takes as long as a known
	// one and the login tells no one which phones exist.
	dummyHash string
	// limit counts attempts per client IP (IPv4 address, IPv6 /64).
	limit *limiter.Limiter
}

// verifier checks a typed password against a stored hash;
// *password.Argon2idHasher is one (its Verify normalises as a reset does).
type verifier interface {
	Verify(ctx context.Context, pw, hash string) (bool, error)
}

// hashVerifier is a verifier that also makes hashes (for the dummy hash).
type hashVerifier interface {
	verifier
	Hash(ctx context.Context, pw string) (string, error)
}

// loginRate is how many login attempts one client IP address (an IPv6 /64
// network) may make: 10 a minute.
var loginRate = limiter.Rate{Period: time.Minute, Limit: 10}

// newLoginHandler is the login over users, comparing with hasher, which
// also makes its dummy hash (so the dummy costs what a real hash costs).
func newLoginHandler(ctx context.Context, users store.Users, hasher hashVerifier, tenants otpreset.TenantResolver) (*loginHandler, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("login: dummy password: %w", err)
	}
	dummy, err := hasher.Hash(ctx, hex.EncodeToString(b))
	if err != nil {
		return nil, fmt.Errorf("login: dummy hash: %w", err)
	}
	lim := limiter.New(memory.NewStore(), loginRate, limiter.WithIPv6Mask(net.CIDRMask(64, 128)))
	return &loginHandler{users: users, hasher: hasher, tenants: tenants, dummyHash: dummy, limit: lim}, nil
}

// authFailed is the answer to a failed login: the seed's 1409 body with
// lower-case keys, and LoginRadius's documented upper-case keys with the same
// values, as otpreset answers a failed reset.
const authFailed = `{"errorCode":1409,"message":"Authentication failed","description":"The credentials provided could not be authenticated.",` +
	`"ErrorCode":1409,"Message":"Authentication failed","Description":"The credentials provided could not be authenticated.","IsProviderError":false,"ProviderErrorResponse":null}`

// loginError is LoginRadius's error shape.
type loginError struct {
	ErrorCode             int             `json:"ErrorCode"`
	Message               string          `json:"Message"`
	Description           string          `json:"Description"`
	IsProviderError       bool            `json:"IsProviderError"`
	ProviderErrorResponse json.RawMessage `json:"ProviderErrorResponse"`
}

// writeError answers status with a LoginRadius error body.
func writeError(w http.ResponseWriter, status, code int, message, description string) {
	b, _ := json.Marshal(loginError{ErrorCode: code, Message: message, Description: description, ProviderErrorResponse: json.RawMessage("null")})
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (l *loginHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, 405, "Method not allowed", "Use POST.")
		return
	}
	// Counted before anything else, so that no kind of request floods.
	lc, err := l.limit.Get(r.Context(), l.limit.GetIPKey(r))
	if err != nil {
		writeError(w, http.StatusInternalServerError, 950, "Operation failed due to an unknown error", "An unknown error has occurred, please try again in a few minutes or contact your system admin.")
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
	key, ok := apiKey(r)
	switch {
	case !ok:
		writeError(w, http.StatusForbidden, 901, "The API key is unauthorized", "The provided LoginRadius API key is invalid or is not authorized, please use a valid or authorized LoginRadius API key or check the API key for your LoginRadius account.")
		return
	case key == "":
		writeError(w, http.StatusBadRequest, 908, "A parameter is not formatted correctly", "The apikey is a required parameter.")
		return
	}
	tenant, err := l.tenants.ResolveTenant(r.Context(), key)
	if err != nil {
		writeError(w, http.StatusForbidden, 901, "The API key is unauthorized", "The provided LoginRadius API key is invalid or is not authorized, please use a valid or authorized LoginRadius API key or check the API key for your LoginRadius account.")
		return
	}
	var body struct{ Phone, Password string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, 1090, "The request body is not formatted correctly", `Send {"phone","password"}.`)
		return
	}
	// The hash compared against: the user's, or the dummy for a phone that
	// is malformed or has no user. Every path compares once.
	hash, u, known := l.dummyHash, store.User{}, false
	if phone, err := otpreset.NormalizePhone(body.Phone); err == nil {
		u, err = l.users.UserByPhone(r.Context(), tenant.ID, phone)
		switch {
		case err == nil:
			hash, known = u.PasswordHash, true
		case !errors.Is(err, store.ErrNotFound):
			writeError(w, http.StatusInternalServerError, 950, "Operation failed due to an unknown error", "An unknown error has occurred, please try again in a few minutes or contact your system admin.")
			return
		}
	}
	// Verify normalises the typed password as a reset does (NFKC), so a
	// password set by a reset in full-width letters logs in here.
	match, err := l.hasher.Verify(r.Context(), body.Password, hash)
	if err != nil {
		// A stored hash that is not argon2id's, or no hashing slot before
		// the request ended.
		writeError(w, http.StatusInternalServerError, 950, "Operation failed due to an unknown error", "An unknown error has occurred, please try again in a few minutes or contact your system admin.")
		return
	}
	if !match || !known {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(authFailed))
		return
	}
	var p otpreset.Profile
	if len(u.Profile) > 0 {
		_ = json.Unmarshal(u.Profile, &p)
	}
	p.Password = "********"
	out, _ := json.Marshal(map[string]any{"Profile": p})
	_, _ = w.Write(out)
}

// apiKey is the request's API key, from the query parameter apikey in any
// casing (LoginRadius's Node.js SDK sends apiKey) or the header
// X-LoginRadius-ApiKey; "" when none is given. ok is false when it is given
// more than once with different values, which is refused (901) rather than
// one of them picked.
func apiKey(r *http.Request) (key string, ok bool) {
	var vals []string
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, "apikey") {
			vals = append(vals, v...)
		}
	}
	vals = append(vals, r.Header.Values("X-LoginRadius-ApiKey")...)
	for i, v := range vals {
		if i > 0 && v != key {
			return "", false
		}
		key = v
	}
	return key, true
}
