package sms_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/otpreset/go/sms"
)

func ExampleLogSender() {
	s := &sms.LogSender{
		W:    os.Stdout,
		Rand: bytes.NewReader(bytes.Repeat([]byte{0xa1}, 32)), // ids from crypto/rand when nil
	}
	r, err := s.Send(context.Background(), sms.Message{
		TenantID: "acme",
		To:       "+919999999999",
		Body:     "Acme: 123456 is your password reset code.\n\n@example.com #123456",
		Code:     "123456",
	})
	fmt.Println(r.AccountSid, r.Sid, err)
	// Output:
	// sms tenant=acme to=+919999999999 voice=false code=123456 sid=SMa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1 body="Acme: 123456 is your password reset code.\n\n@example.com #123456"
	// ACa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1 SMa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1 <nil>
}

func ExampleTemplates_RenderCode() {
	ts, err := sms.NewLocalizedTemplates(sms.TemplateConfig{
		Code: map[string]map[string]string{
			"short": {"": "{{.Code}} is your {{.AppName}} code\n\n@{{.Domain}} #{{.Code}}"},
		},
	})
	if err != nil {
		panic(err)
	}
	d := sms.TemplateData{Code: "123456", Minutes: 5, AppName: "Acme", Domain: "example.com"}
	for _, name := range []string{"", "short", "nope"} {
		r, err := ts.RenderCode(name, "", d)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%q found=%t segments=%d %s\n%s\n", name, r.Found, r.Segments, r.Encoding, r.Body)
	}
	// Output:
	// "" found=true segments=1 GSM-7
	// Acme: 123456 is your password reset code. It expires in 5 minutes. Do not share it.
	//
	// @example.com #123456
	// "short" found=true segments=1 GSM-7
	// 123456 is your Acme code
	//
	// @example.com #123456
	// "nope" found=false segments=1 GSM-7
	// Acme: 123456 is your password reset code. It expires in 5 minutes. Do not share it.
	//
	// @example.com #123456
}

func ExampleFailover() {
	down := sms.SenderFunc(func(context.Context, sms.Message) (sms.Receipt, error) {
		return sms.Receipt{}, fmt.Errorf("%w: primary: %w", sms.ErrSendFailed, errors.New("account suspended"))
	})
	backup := &sms.LogSender{W: os.Stdout, Rand: bytes.NewReader(make([]byte, 64))}
	s := &sms.Retry{
		Sender: &sms.Failover{
			Senders: []sms.Sender{down, backup},
			Timeout: 5 * time.Second,
			Logger:  slog.New(slog.DiscardHandler),
		},
	}
	r, err := s.Send(context.Background(), sms.Message{TenantID: "acme", To: "+919999999999", Body: "123456 is your code", Code: "123456"})
	fmt.Println(r.Sid, err)
	// Output:
	// sms tenant=acme to=+919999999999 voice=false code=123456 sid=SM00000000000000000000000000000000 body="123456 is your code"
	// SM00000000000000000000000000000000 <nil>
}

func ExampleMaskPhone() {
	fmt.Println(sms.MaskPhone("+919999999999"))
	// Output: +91******9999
}

func ExampleNewSid() {
	fmt.Println(sms.NewSid(sms.SidPrefix(false), bytes.NewReader(bytes.Repeat([]byte{0x0f}, 16))))
	// Output: SM0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
}

func ExampleNewLocalizedTemplates() {
	ts, err := sms.NewLocalizedTemplates(sms.TemplateConfig{
		Language: "en", // the tenant's default language
		Code: map[string]map[string]string{
			"otp": {
				"en": `{{.Code}} is your {{.AppName}} code. It expires in {{plural .Minutes "one" "# minute" "other" "# minutes"}}.`,
				"ru": `{{.Code}} — ваш код {{.AppName}}. Он действует {{plural .Minutes "one" "# минуту" "few" "# минуты" "many" "# минут" "other" "# минуты"}}.`,
			},
		},
		DefaultCode: "otp",
	})
	if err != nil {
		panic(err) // at configuration time: errors.Is(err, sms.ErrBadTemplate)
	}
	d := sms.TemplateData{Code: "123456", Minutes: 1, AppName: "Acme"}
	// The handler passes smstemplate and the request's Accept-Language.
	for _, acceptLanguage := range []string{"ru-RU,ru;q=0.9,en;q=0.5", "fr-FR", ""} {
		r, err := ts.RenderCode("otp", acceptLanguage, d)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %s\n", r.Language, r.Body)
	}
	d.Minutes = 5
	r, _ := ts.RenderCode("otp", "ru", d)
	fmt.Println(r.Body)
	// Output:
	// ru: 123456 — ваш код Acme. Он действует 1 минуту.
	// en: 123456 is your Acme code. It expires in 1 minute.
	// en: 123456 is your Acme code. It expires in 1 minute.
	// 123456 — ваш код Acme. Он действует 5 минут.
}

func ExampleTemplates_RenderNotice() {
	ts, err := sms.NewLocalizedTemplates(sms.TemplateConfig{
		Notice: map[string]map[string]string{
			"changed": {"de": `{{.AppName}}: Ihr Passwort wurde am {{.Time.Format "02.01.2006 um 15:04"}} geändert. Waren Sie das nicht? Wenden Sie sich an {{.Support}}.`},
		},
		Location: time.FixedZone("CET", 3600),
	})
	if err != nil {
		panic(err)
	}
	d := sms.NoticeData{AppName: "Acme", Time: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), Support: "+49 30 123456"}
	for _, acceptLanguage := range []string{"de-DE", "en-US"} {
		// resetpasswordsmstemplate names the notice; the body goes in
		// sms.Message.Body, with no Code.
		r, err := ts.RenderNotice("changed", acceptLanguage, d)
		if err != nil {
			panic(err)
		}
		fmt.Println(r.Body)
	}
	// Output:
	// Acme: Ihr Passwort wurde am 24.11.2026 um 13:00 geändert. Waren Sie das nicht? Wenden Sie sich an +49 30 123456.
	// Acme: Your password was changed on 24 Nov 2026 at 13:00 CET. If this was not you, contact +49 30 123456 at once.
}
