// Package signature signs HTTP requests the way otpreset signs its webhook
// deliveries (and sms/httpsender its requests), and checks those signatures
// in a receiver. Two schemes, each used when its secret is set:
//
//   - LoginRadius's: a "signature" header holding the upper-case hex
//     HMAC-SHA256 of the body under the secret.
//   - Standard Webhooks (standardwebhooks.com): webhook-id,
//     webhook-timestamp (Unix seconds) and webhook-signature, "v1," and the
//     base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" under the key of a
//     "whsec_<base64>" secret. The timestamp lets a receiver refuse replays.
//
// A receiver calls Verify, or a Verifier to set the tolerance and clock, on
// the raw body before decoding it.
package signature

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

// The headers of a signed request.
const (
	headerLoginRadius = "signature"
	headerID          = "webhook-id"
	headerTimestamp   = "webhook-timestamp"
	headerSignature   = "webhook-signature"
)

// Secrets are the keys requests are signed with. Either may be empty, in
// which case that scheme is not used.
type Secrets struct {
	// LoginRadius is the tenant's webhook secret as LoginRadius uses it.
	LoginRadius string
	// Standard is a Standard Webhooks secret: "whsec_" followed by base64.
	Standard string
}

// ErrBadSecret is returned for a Standard Webhooks secret that is not
// "whsec_" + base64.
var ErrBadSecret = errors.New("signature: Standard Webhooks secret must be whsec_<base64>")

// Validate reports whether s can sign: at least one secret, and a Standard
// secret (when set) in its whsec_ form. Errors wrap ErrNoSecret or
// ErrBadSecret.
func (s Secrets) Validate() error {
	if s.LoginRadius == "" && s.Standard == "" {
		return ErrNoSecret
	}
	if s.Standard != "" {
		if _, err := standardKey(s.Standard); err != nil {
			return err
		}
	}
	return nil
}

// Sign sets the signature headers of a request carrying body, for the event
// or message id at ts: "signature" when s.LoginRadius is set, and
// webhook-id, webhook-timestamp and webhook-signature when s.Standard is set.
// A retry is signed afresh with its own ts and the same id, which receivers
// de-duplicate on.
func Sign(h http.Header, s Secrets, id string, ts time.Time, body []byte) error {
	if s.LoginRadius != "" {
		h.Set(headerLoginRadius, strings.ToUpper(hex.EncodeToString(loginRadiusMAC(s.LoginRadius, body))))
	}
	if s.Standard != "" {
		key, err := standardKey(s.Standard)
		if err != nil {
			return err
		}
		h.Set(headerID, id)
		h.Set(headerTimestamp, strconv.FormatInt(ts.Unix(), 10))
		h.Set(headerSignature, "v1,"+base64.StdEncoding.EncodeToString(standardMAC(key, id, ts.Unix(), body)))
	}
	return nil
}

func loginRadiusMAC(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

func standardMAC(key []byte, id string, unix int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, unix)
	m.Write(body)
	return m.Sum(nil)
}

func standardKey(secret string) ([]byte, error) {
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
