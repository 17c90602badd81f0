package twilio_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

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

// A tenant whose codes go by WhatsApp, through an approved authentication
// template, and by SMS when WhatsApp fails.
func ExampleRoute_whatsApp() {
	// A stand-in for api.twilio.com: this WhatsApp sender is not approved
	// yet (Twilio's error 63007), so the code goes by SMS.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		fmt.Println("POST To=" + r.PostForm.Get("To") + " ContentSid=" + r.PostForm.Get("ContentSid"))
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.PostForm.Get("To"), "whatsapp:") {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"code":63007,"message":"Twilio could not find a Channel with the specified From address","more_info":"https://www.twilio.com/docs/errors/63007","status":400}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"sid":"SM1f0e9d8c7b6a59483726150f1e2d3c4b","account_sid":"AC0123456789abcdef0123456789abcdef","status":"queued"}`)
	}))
	defer srv.Close()

	tw, err := twilio.New(twilio.Config{
		AccountSid: "AC0123456789abcdef0123456789abcdef",
		AuthToken:  "0123456789abcdef0123456789abcdef",
		Default: twilio.Route{
			From:               "+15005550006",
			WhatsAppFrom:       "+14155238886",
			WhatsAppContentSid: "HX0123456789abcdef0123456789abcdef", // {{1}} is the code
		},
		// Watch each WhatsApp message for 3 s: most WhatsApp failures
		// (63016, 63003) come after Twilio accepted the message.
		ConfirmWhatsApp: 3 * time.Second,
		BaseURL:         srv.URL,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	sender := &sms.ChannelFallback{
		Sender:  &sms.Retry{Sender: tw},
		Tenants: map[string]sms.Channel{"acme": sms.ChannelWhatsApp}, // or Message.Channel
		Logger:  slog.New(slog.DiscardHandler),
	}
	r, err := sender.Send(context.Background(), sms.Message{
		TenantID: "acme", To: "+919999999999", Body: "123456 is your Acme code", Code: "123456",
	})
	fmt.Println(r.AccountSid, r.Sid, err)
	// Output:
	// POST To=whatsapp:+919999999999 ContentSid=HX0123456789abcdef0123456789abcdef
	// POST To=+919999999999 ContentSid=
	// AC0123456789abcdef0123456789abcdef SM1f0e9d8c7b6a59483726150f1e2d3c4b <nil>
}
