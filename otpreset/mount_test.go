package otpreset_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
)

// flow runs send + reset against a server at base (a URL prefix) and returns
// the reset's status.
func flow(t *testing.T, env *otpresettest.Env, srv *httptest.Server, base string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"phone": phone})
	res, err := http.Post(srv.URL+base+otpreset.Path+keyQuery, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	body, _ = json.Marshal(map[string]string{"phone": phone, "otp": env.Code(phone), "Password": newPass})
	req, _ := http.NewRequest(http.MethodPut, srv.URL+base+otpreset.Path+keyQuery, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

func TestMountOnServeMux(t *testing.T) {
	env := otpresettest.New(t)
	env.AddUser(phone, oldPass)
	mux := http.NewServeMux()
	mux.Handle(otpreset.Path, env.Handler)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	assert.Equal(t, 200, flow(t, env, srv, ""))
	assert.True(t, env.PasswordWorks(phone, newPass))
}

func TestMountOnServeMuxUnderPrefix(t *testing.T) {
	env := otpresettest.New(t)
	env.AddUser(phone, oldPass)
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", env.Handler))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	assert.Equal(t, 200, flow(t, env, srv, "/auth"))
}

func TestMountOnGorillaSubrouter(t *testing.T) {
	env := otpresettest.New(t)
	env.AddUser(phone, oldPass)
	r := mux.NewRouter()
	r.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("home")) })
	api := r.PathPrefix("/api").Subrouter()
	api.Handle(otpreset.Path, env.Handler).Methods(http.MethodPost, http.MethodPut)
	srv := httptest.NewServer(r)
	defer srv.Close()
	assert.Equal(t, 200, flow(t, env, srv, "/api"))
	assert.True(t, env.PasswordWorks(phone, newPass))
}

func TestWrappedByHostMiddleware(t *testing.T) {
	env := otpresettest.New(t)
	env.AddUser(phone, oldPass)
	var seen []string
	logging := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = append(seen, r.Method)
			w.Header().Set("X-Host", "yes")
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(logging(env.Handler))
	defer srv.Close()
	assert.Equal(t, 200, flow(t, env, srv, ""))
	assert.Equal(t, []string{"POST", "PUT"}, seen)
}
