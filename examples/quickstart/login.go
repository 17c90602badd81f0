package main

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/store"
)

// loginHandler is example host code, not part of the library: LoginRadius's
// phone login, POST /identity/v2/auth/login?apikey= with {"phone","password"}.
// It answers 200 with the profile when the password matches and the seed's
// 1409 body when it does not.
type loginHandler struct {
	users   store.Users
	hasher  *password.Argon2idHasher
	tenants otpreset.TenantResolver
}

const authFailed = `{"errorCode":1409,"message":"Authentication failed","description":"The credentials provided could not be authenticated."}`

func (l *loginHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"ErrorCode":405,"Message":"Method not allowed","Description":"Use POST."}`))
		return
	}
	key := ""
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, "apikey") && len(v) > 0 {
			key = v[0]
		}
	}
	tenant, err := l.tenants.ResolveTenant(r.Context(), key)
	if err != nil {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"ErrorCode":901,"Message":"The API key is unauthorized","Description":"The provided API key is invalid."}`))
		return
	}
	var body struct{ Phone, Password string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"ErrorCode":1090,"Message":"The request body is not formatted correctly","Description":"Send {\"phone\",\"password\"}."}`))
		return
	}
	fail := func() {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(authFailed))
	}
	phone, err := otpreset.NormalizePhone(body.Phone)
	if err != nil {
		fail()
		return
	}
	u, err := l.users.UserByPhone(r.Context(), tenant.ID, phone)
	if err != nil {
		fail()
		return
	}
	// Verify normalises the typed password as a reset does (NFKC), so a
	// password set by a reset in full-width letters logs in here.
	ok, err := l.hasher.Verify(r.Context(), body.Password, u.PasswordHash)
	if err != nil || !ok {
		fail()
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
