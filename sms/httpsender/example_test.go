package httpsender_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/sms/httpsender"
	"github.com/otpreset/go/webhook/signature"
)

func ExampleNew() {
	const secret = "tenant-webhook-secret"
	// The host's bridge to its SMS provider: check the signature, send,
	// answer with the provider's message id.
	bridge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if signature.Verify(r.Header, body, signature.Secrets{LoginRadius: secret}) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var m struct {
			Tenant, To, Body, Code string
			Voice                  bool
		}
		_ = json.Unmarshal(body, &m)
		fmt.Printf("bridge: send to %s (voice=%t): %q\n", m.To, m.Voice, m.Body)
		fmt.Fprint(w, `{"sid":"msg-0001","account_sid":"acme-sms"}`)
	}))
	defer bridge.Close()

	s, err := httpsender.New(httpsender.Config{
		URL:     bridge.URL,
		Secrets: signature.Secrets{LoginRadius: secret},
	})
	if err != nil {
		panic(err)
	}
	r, err := s.Send(context.Background(), sms.Message{TenantID: "acme", To: "+919999999999", Body: "123456 is your code", Code: "123456"})
	fmt.Println(r.AccountSid, r.Sid, err)
	// Output:
	// bridge: send to +919999999999 (voice=false): "123456 is your code"
	// acme-sms msg-0001 <nil>
}
