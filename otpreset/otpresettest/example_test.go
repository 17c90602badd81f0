package otpresettest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
)

// A host's table-driven test of its mounted handler. In a real test file the
// body of this example is a func TestReset(t *testing.T).
func Example() {
	t := &testing.T{} // in your test: the *testing.T you are given
	tests := []struct {
		name   string
		otp    func(env *otpresettest.Env) string
		status int
	}{
		{"right code", func(env *otpresettest.Env) string { return env.Code("+919999999999") }, 200},
		{"wrong code", func(*otpresettest.Env) string { return "000000" }, 401},
	}
	for _, tt := range tests {
		env := otpresettest.New(t, func(_ *otpreset.Config, tn *otpreset.Tenant) { tn.AppName = "Mine" })
		env.AddUser("+919999999999", "old password 1")
		env.Send("+919999999999")
		rec := env.Reset("+919999999999", tt.otp(env), "new password 1")
		fmt.Println(tt.name, rec.Code == tt.status, env.PasswordWorks("+919999999999", "new password 1"))
	}
	// Output:
	// right code true true
	// wrong code true false
}

// The capturing Sender shows what would have been sent, code included.
func ExampleSender() {
	env := otpresettest.New(&testing.T{})
	env.AddUser("+919999999999", "old password 1")
	env.Send("+919999999999")
	m := env.Sender.Messages()[0]
	fmt.Println(m.To, len(m.Code))
	// Output: +919999999999 6
}

// A host's test goes through the host's own router: here a ServeMux that
// serves the handler under /auth and has a middleware of its own.
func ExampleEnv_Mount() {
	env := otpresettest.New(&testing.T{})
	mux := http.NewServeMux()
	seen := 0
	mux.Handle("/auth/", http.StripPrefix("/auth", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen++ // the host's middleware
		env.Handler.ServeHTTP(w, r)
	})))
	env.Mount(mux, "/auth")

	env.AddUser("+919999999999", "old password 1")
	env.Send("+919999999999")
	rec := env.Reset("+919999999999", env.Code("+919999999999"), "new password 1")
	fmt.Println(env.Path(), rec.Code, seen, env.PasswordWorks("+919999999999", "new password 1"))
	// Output: /auth/identity/v2/auth/password/otp 200 2 true
}
