package signature_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/otpreset/go/webhook/signature"
)

// FuzzVerify: Verify never panics on any headers and body, and whenever it
// accepts a delivery signed with the LoginRadius scheme only, the signature
// is the HMAC a receiver computes independently.
func FuzzVerify(f *testing.F) {
	body := []byte(`{"HookName":"resetpassword","Time":"2026-11-24T12:00:00Z","HookId":"x","Data":{}}`)
	f.Add(body, loginRadius("secret", body), "id", "1795521600", "v1,AAAA")
	f.Add([]byte("{}"), "", "", "", "")
	f.Add([]byte("x"), "zz", "a b", "-1", "v1, v2,")
	f.Add(body, strings.ToLower(loginRadius("secret", body)), "", "99999999999999999999", "v1")
	f.Fuzz(func(t *testing.T, body []byte, sig, id, ts, stdSig string) {
		h := http.Header{}
		h.Set("signature", sig)
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", stdSig)
		v := signature.Verifier{
			Secrets: signature.Secrets{LoginRadius: "secret"},
			Clock:   stoppedAt(time.Unix(1795521600, 0)),
		}
		if err := v.Verify(h, body); err == nil {
			m := hmac.New(sha256.New, []byte("secret"))
			m.Write(body)
			want := m.Sum(nil)
			got, derr := hex.DecodeString(sig)
			if derr != nil || !hmac.Equal(got, want) {
				t.Fatalf("accepted a wrong signature %q for %q", sig, body)
			}
		}
		both := signature.Verifier{
			Secrets: signature.Secrets{LoginRadius: "secret", Standard: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="},
			Clock:   stoppedAt(time.Unix(1795521600, 0)),
		}
		_ = both.Verify(h, body) // must not panic
	})
}

// loginRadius is the "signature" header a sender sets for body.
func loginRadius(secret string, body []byte) string {
	h := http.Header{}
	if err := signature.Sign(h, signature.Secrets{LoginRadius: secret}, "", time.Time{}, body); err != nil {
		panic(err)
	}
	return h.Get("signature")
}
