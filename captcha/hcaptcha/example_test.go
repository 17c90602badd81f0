package hcaptcha_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/captcha/hcaptcha"
)

func Example() {
	// A stand-in for hCaptcha, answering as siteverify documents when the
	// secret does not belong to the site key.
	hc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"success": false, "error-codes": ["sitekey-secret-mismatch"]}`)
	}))
	defer hc.Close()

	v, err := hcaptcha.New(hcaptcha.Config{
		Siteverify: captcha.Siteverify{
			Secret:   "0x0000000000000000000000000000000000000000",
			Endpoint: hc.URL, // omit in production
		},
		SiteKey: "10000000-ffff-ffff-ffff-000000000001",
	})
	if err != nil {
		panic(err)
	}
	err = v.Verify(context.Background(), captcha.Token{Response: "P1_eyJ0eXAi...", RemoteIP: "203.0.113.7"})
	fmt.Println(errors.Is(err, captcha.ErrUnavailable), errors.Is(err, captcha.ErrMisconfigured))
	fmt.Println(err)
	// Output:
	// true true
	// hcaptcha: captcha: provider unavailable: captcha: provider misconfigured (sitekey-secret-mismatch)
}
