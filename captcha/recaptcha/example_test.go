package recaptcha_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/captcha/recaptcha"
)

func Example() {
	// A stand-in for Google, answering as siteverify documents for a v3
	// token with a low score.
	google := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"success": true, "score": 0.2, "action": "reset_password",
			"challenge_ts": "2026-03-01T12:00:00Z", "hostname": "example.com"}`)
	}))
	defer google.Close()

	v, err := recaptcha.New(recaptcha.Config{
		Siteverify: captcha.Siteverify{
			Secret:    "your-secret-key",
			Hostnames: []string{"example.com"},
			Endpoint:  google.URL, // omit in production
		},
		MinScore: 0.5,
		Action:   "reset_password",
	})
	if err != nil {
		panic(err)
	}
	err = v.Verify(context.Background(), captcha.Token{Response: "03AGdBq2...", RemoteIP: "203.0.113.7"})
	fmt.Println(errors.Is(err, captcha.ErrRejected))
	fmt.Println(err)
	// Output:
	// true
	// recaptcha: captcha: rejected (score-threshold)
}
