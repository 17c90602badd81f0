package sms_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
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

func ExampleTemplates_RenderInfo() {
	ts, err := sms.NewTemplates("", map[string]string{
		"short": "{{.Code}} is your {{.AppName}} code\n\n@{{.Domain}} #{{.Code}}",
	})
	if err != nil {
		panic(err)
	}
	d := sms.TemplateData{Code: "123456", Minutes: 5, AppName: "Acme", Domain: "example.com"}
	for _, name := range []string{"", "short", "nope"} {
		r, err := ts.RenderInfo(name, d)
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

func ExampleSegments() {
	for _, body := range []string{
		"123456 is your code",
		strings.Repeat("x", 161),
		"Price: 5€ [incl. VAT]",
		"Ваш код 123456",
		strings.Repeat("ж", 71),
	} {
		n, enc := sms.Segments(body)
		fmt.Println(n, enc)
	}
	// Output:
	// 1 GSM-7
	// 2 GSM-7
	// 1 GSM-7
	// 1 UCS-2
	// 2 UCS-2
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
	fmt.Println(sms.NewSid(sms.SidPrefixMessage, bytes.NewReader(bytes.Repeat([]byte{0x0f}, 16))))
	// Output: SM0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
}
