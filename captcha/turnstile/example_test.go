package turnstile_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/captcha/turnstile"
)

func Example() {
	// A stand-in for Cloudflare, answering with the documented success.
	cf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"success": true, "challenge_ts": "2022-02-28T15:14:30.096Z",
			"hostname": "example.com", "error-codes": [], "action": "reset_password"}`)
	}))
	defer cf.Close()

	v, err := turnstile.New(turnstile.Config{
		Siteverify: captcha.Siteverify{
			Secret:    "1x0000000000000000000000000000000AA", // Cloudflare's always-passes test secret
			Hostnames: []string{"example.com"},
			Endpoint:  cf.URL, // omit in production
		},
		Action: "reset_password",
	})
	if err != nil {
		panic(err)
	}
	err = v.Verify(context.Background(), captcha.Token{Response: "XXXX.DUMMY.TOKEN.XXXX", RemoteIP: "203.0.113.7"})
	fmt.Println(err)
	// Output:
	// <nil>
}
