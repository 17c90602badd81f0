package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names set on every signed delivery.
const (
	// HeaderLoginRadiusSignature carries LoginRadius's signature: the
	// upper-case hex HMAC-SHA256 of the body under the tenant's secret.
	HeaderLoginRadiusSignature = "signature"
	// Standard Webhooks (standardwebhooks.com) headers.
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Secrets are the keys a delivery is signed with. Either may be empty, in
// which case that scheme's header is not set.
type Secrets struct {
	// LoginRadius is the tenant's webhook secret as LoginRadius uses it.
	LoginRadius string
	// Standard is a Standard Webhooks secret: "whsec_" followed by base64.
	Standard string
}

// ErrBadSecret is returned for a Standard Webhooks secret that is not
// "whsec_" + base64.
var ErrBadSecret = errors.New("webhook: Standard Webhooks secret must be whsec_<base64>")

// LoginRadiusSignature returns the upper-case hex HMAC-SHA256 of body.
func LoginRadiusSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

// StandardSignature returns the Standard Webhooks signature header value
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>".
func StandardSignature(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := decodeStandardSecret(secret)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts.Unix())
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

func decodeStandardSecret(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, ErrBadSecret
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// SignHeaders sets the signature headers of a delivery of body with event id
// at ts: "signature" when s.LoginRadius is set, and webhook-id,
// webhook-timestamp and webhook-signature when s.Standard is set.
func SignHeaders(h http.Header, s Secrets, id string, ts time.Time, body []byte) error {
	if s.LoginRadius != "" {
		h.Set(HeaderLoginRadiusSignature, LoginRadiusSignature(s.LoginRadius, body))
	}
	if s.Standard != "" {
		sig, err := StandardSignature(s.Standard, id, ts, body)
		if err != nil {
			return err
		}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		h.Set(HeaderSignature, sig)
	}
	return nil
}
