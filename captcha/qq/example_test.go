package qq_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/captcha/qq"
)

func Example() {
	// A stand-in for captcha.tencentcloudapi.com answering
	// DescribeCaptchaResult for a reused ticket.
	tencent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"Response": {"RequestId": "3b61a17b-cb38-470e-802c-b6242faf81ac",
			"CaptchaCode": 9, "CaptchaMsg": "ticket reused", "EvilLevel": 0}}`)
	}))
	defer tencent.Close()

	v, err := qq.New(qq.Config{
		AppID:        199999164,
		AppSecretKey: "your-app-secret-key",
		SecretID:     "AKID...",         // Tencent Cloud API key pair (CAM)
		SecretKey:    "your-secret-key", // never shown in errors or logs
		Endpoint:     tencent.URL,       // omit in production
	})
	if err != nil {
		panic(err)
	}
	err = v.Verify(context.Background(), captcha.Token{
		Response: "tr03XaCUZPAlPdIM...", // qq_captcha_ticket
		Randstr:  "@Vki",                // qq_captcha_randstr
		RemoteIP: "203.0.113.7",
	})
	fmt.Println(errors.Is(err, captcha.ErrRejected))
	fmt.Println(err)
	// Output:
	// true
	// qq: captcha: rejected (9-ticket-reused)
}

func Example_legacy() {
	// A stand-in for ssl.captcha.qq.com/ticket/verify accepting the ticket.
	legacy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"response":"1","evil_level":"0","err_msg":"OK"}`)
	}))
	defer legacy.Close()

	v, err := qq.New(qq.Config{
		API:          qq.LegacyAPI,
		AppID:        2094639739,
		AppSecretKey: "your-app-secret-key",
		Endpoint:     legacy.URL + "/ticket/verify", // omit in production
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Verify(context.Background(), captcha.Token{Response: "t03...", Randstr: "@abc", RemoteIP: "203.0.113.7"}))
	// Output:
	// <nil>
}
