package otpresettest_test

import (
	"testing"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
)

// TestReset is README's "Testing a mounted handler" snippet, compiled and
// run as it is printed there.
func TestReset(t *testing.T) {
	tests := []struct {
		name   string
		otp    func(env *otpresettest.Env) string
		status int
	}{
		{"right code", func(env *otpresettest.Env) string { return env.Code("+919999999999") }, 200},
		{"wrong code", func(*otpresettest.Env) string { return "000000" }, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := otpresettest.New(t, func(c *otpreset.Config, tn *otpreset.Tenant) { tn.AppName = "Mine" })
			env.AddUser("+919999999999", "old password")
			env.Send("+919999999999")
			rec := env.Reset("+919999999999", tt.otp(env), "new password 1")
			if rec.Code != tt.status {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		})
	}
}
