package password_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/otpreset/go/otpreset/password"
)

func ExamplePolicy_Check() {
	policy := password.Policy{RejectContainingPhone: true} // 8 to 128 characters

	for _, pw := range []string{"StrongP@ssw0rd!", "ＳｔｒｏｎｇＰ＠ｓｓ", "short", "call 99999 99999"} {
		normalized, err := policy.Check(pw, "+919999999999")
		var ve *password.ValidationError
		switch {
		case err == nil:
			fmt.Printf("ok, hash %q\n", normalized)
		case errors.As(err, &ve):
			fmt.Printf("%s: %s (too short: %v)\n", ve.Problems[0].Field, ve.Problems[0].Message,
				errors.Is(err, password.ErrTooShort))
		}
	}
	// Output:
	// ok, hash "StrongP@ssw0rd!"
	// ok, hash "StrongP@ss"
	// password: The password must be at least 8 characters long (too short: true)
	// password: The password must not contain your phone number (too short: false)
}

func ExampleHIBP() {
	// A stand-in for api.pwnedpasswords.com: the range of "P@ssw0rd" holds
	// its suffix (seen 52,579 times) and a padding line (count 0).
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("asked for", r.URL.Path, "padding:", r.Header.Get("Add-Padding"))
		fmt.Fprint(w, "2DC183F740EE76F27B78EB39C8AD972A757:52579\r\n0018A45C4D1DEF81644B54AB7F969B88D65:0")
	}))
	defer api.Close()

	hibp := &password.HIBP{Endpoint: api.URL + "/range/"} // zero value: the real API, 3 s timeout, fail closed
	breached, err := hibp.Breached(context.Background(), "P@ssw0rd")
	fmt.Println(breached, err)
	// Output:
	// asked for /range/21BD1 padding: true
	// true <nil>
}

func ExampleReadList() {
	sum := sha1.Sum([]byte("hunter2"))
	list := strings.Join([]string{
		strings.ToUpper(hex.EncodeToString(sum[:])) + ":17", // Pwned Passwords download format
		"letmein", // a plain password
	}, "\r\n")

	l, err := password.ReadList(strings.NewReader(list), password.ListOptions{})
	if err != nil {
		panic(err)
	}
	for _, pw := range []string{"hunter2", "letmein", "StrongP@ssw0rd!"} {
		breached, _ := l.Breached(context.Background(), pw)
		fmt.Println(pw, breached)
	}
	// Output:
	// hunter2 true
	// letmein true
	// StrongP@ssw0rd! false
}

func ExampleAny() {
	local, _ := password.ReadList(strings.NewReader("acme-2024\nacme-rocks\n"), password.ListOptions{Format: password.FormatPlain})
	checker := password.Any(local, &password.HIBP{FailOpen: true})

	// The local list answers first, so no request is sent for this one.
	breached, err := checker.Breached(context.Background(), "acme-rocks")
	fmt.Println(breached, err)
	// Output: true <nil>
}

// A host's login verifies the typed password with the normalisation a reset
// hashed with: the full-width form of a password logs in as the ASCII one.
func ExampleArgon2idHasher_Verify() {
	ctx := context.Background()
	hasher := password.NewArgon2idHasher(nil, 0) // the same hasher as Config.Hasher
	normalized, _ := password.Policy{}.Check("ＳｔｒｏｎｇＰ＠ｓｓ", "")
	stored, _ := hasher.Hash(ctx, normalized) // what a reset stores

	for _, typed := range []string{"ＳｔｒｏｎｇＰ＠ｓｓ", "StrongP@ss", "StrongP@ss!"} {
		ok, err := hasher.Verify(ctx, typed, stored)
		fmt.Println(typed, ok, err)
	}
	// Output:
	// ＳｔｒｏｎｇＰ＠ｓｓ true <nil>
	// StrongP@ss true <nil>
	// StrongP@ss! false <nil>
}
