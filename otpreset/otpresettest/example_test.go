package otpresettest_test

import (
	"fmt"
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
