package twilio_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/sms/twilio"
)

func ExampleNew() {
	// A stand-in for api.twilio.com answering as Twilio does.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"sid":"SM1f0e9d8c7b6a59483726150f1e2d3c4b","account_sid":"AC0123456789abcdef0123456789abcdef","status":"queued","to":"+919999999999"}`)
	}))
	defer srv.Close()

	// In production: cfg := twilio.ConfigFromEnv(os.Getenv)
	cfg := twilio.ConfigFromEnv(func(string) string { return "" })
	cfg.AccountSid = "AC0123456789abcdef0123456789abcdef"
	cfg.AuthToken = "0123456789abcdef0123456789abcdef"
	cfg.Default = twilio.Route{From: "+15005550006"}
	cfg.Tenants = map[string]twilio.Route{"acme": {MessagingServiceSid: "MG0123456789abcdef0123456789abcdef"}}
	cfg.BaseURL = srv.URL // leave empty for Twilio itself
	tw, err := twilio.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	sender := &sms.Retry{Sender: tw} // retries 429 and 5xx answers

	r, err := sender.Send(context.Background(), sms.Message{
		TenantID: "acme",
		To:       "+919999999999",
		Body:     "Acme: 123456 is your password reset code.\n\n@example.com #123456",
		Code:     "123456",
	})
	fmt.Println(r.AccountSid, r.Sid, err)
	// Output: AC0123456789abcdef0123456789abcdef SM1f0e9d8c7b6a59483726150f1e2d3c4b <nil>
}
