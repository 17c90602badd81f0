package signature

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Errors of Verify. Every error Verify returns wraps exactly one of them (or
// ErrBadSecret for a malformed Standard Webhooks secret).
var (
	// ErrNoSecret: the Verifier has neither secret, so it can verify nothing
	// (Secrets.Validate: nothing to sign with).
	ErrNoSecret = errors.New("signature: no secret")
	// ErrMissingHeaders: a header the configured scheme needs is absent.
	ErrMissingHeaders = errors.New("signature: missing signature headers")
	// ErrInvalid: a signature (or the timestamp it covers) is malformed or
	// does not match the body.
	ErrInvalid = errors.New("signature: invalid signature")
	// ErrTimestampOutOfTolerance: the Standard Webhooks signature is
	// authentic but its webhook-timestamp is too far from now (a replay, or
	// a clock that is off).
	ErrTimestampOutOfTolerance = errors.New("signature: timestamp outside tolerance")
)

// defaultTolerance is Verifier.Tolerance's default.
const defaultTolerance = 5 * time.Minute

// Verifier checks the signatures of a request in a receiver. Its zero value
// with Secrets set is ready to use.
//
// Each scheme whose secret is set must be present and valid: with both
// secrets, a request must carry both a good "signature" header and good
// Standard Webhooks headers. Requiring every configured scheme (rather than
// any one) keeps the replay protection of webhook-timestamp: otherwise an
// attacker could replay an old delivery with only its timestamp-less
// LoginRadius signature. A receiver that trusts only one scheme sets only
// that secret.
type Verifier struct {
	// Secrets are the endpoint's secrets, as configured in the sender.
	Secrets Secrets
	// Tolerance bounds |now - webhook-timestamp|. Zero means 5 minutes.
	Tolerance time.Duration
	// Clock tells the time webhook-timestamp is compared with: any value
	// with a Now method, such as an otpreset.Clock. Nil means the system
	// clock.
	Clock interface{ Now() time.Time }
}

// Verify checks the headers h of a request against its raw body, exactly as
// received (before any JSON decoding), with a tolerance of 5 minutes and
// the system clock. See Verifier.
func Verify(h http.Header, body []byte, s Secrets) error {
	return Verifier{Secrets: s}.Verify(h, body)
}

// Verify checks h and body; nil means every configured scheme verified.
func (v Verifier) Verify(h http.Header, body []byte) error {
	if v.Secrets.LoginRadius == "" && v.Secrets.Standard == "" {
		return ErrNoSecret
	}
	if v.Secrets.LoginRadius != "" {
		if err := verifyLoginRadius(h, body, v.Secrets.LoginRadius); err != nil {
			return err
		}
	}
	if v.Secrets.Standard != "" {
		now := time.Now()
		if v.Clock != nil {
			now = v.Clock.Now()
		}
		tol := v.Tolerance
		if tol <= 0 {
			tol = defaultTolerance
		}
		if err := verifyStandard(h, body, v.Secrets.Standard, now, tol); err != nil {
			return err
		}
	}
	return nil
}

func verifyLoginRadius(h http.Header, body []byte, secret string) error {
	got := strings.TrimSpace(h.Get(headerLoginRadius))
	if got == "" {
		return fmt.Errorf("%w: %s", ErrMissingHeaders, headerLoginRadius)
	}
	// Decoding the hex makes the comparison case-insensitive; hmac.Equal
	// compares in constant time.
	sig, err := hex.DecodeString(got)
	if err != nil {
		return fmt.Errorf("%w: %s is not hex", ErrInvalid, headerLoginRadius)
	}
	if !hmac.Equal(sig, loginRadiusMAC(secret, body)) {
		return fmt.Errorf("%w: %s does not match", ErrInvalid, headerLoginRadius)
	}
	return nil
}

func verifyStandard(h http.Header, body []byte, secret string, now time.Time, tol time.Duration) error {
	key, err := standardKey(secret)
	if err != nil {
		return err
	}
	id, tsText, sigs := h.Get(headerID), h.Get(headerTimestamp), h.Get(headerSignature)
	var missing []string
	for _, p := range [][2]string{{headerID, id}, {headerTimestamp, tsText}, {headerSignature, sigs}} {
		if p[1] == "" {
			missing = append(missing, p[0])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingHeaders, strings.Join(missing, ", "))
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(tsText), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not an integer", ErrInvalid, headerTimestamp)
	}
	want := standardMAC(key, id, ts, body)
	matched := false
	// The header is a space-separated list ("v1,<b64> v1,<b64> v1a,...") so
	// that a sender can sign with an old and a new key while rotating; one
	// matching v1 entry suffices. Other versions are skipped.
	for _, entry := range strings.Fields(sigs) {
		b64, ok := strings.CutPrefix(entry, "v1,")
		if !ok {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		if hmac.Equal(sig, want) {
			matched = true
			break
		}
	}
	if !matched {
		return fmt.Errorf("%w: no %s entry matches", ErrInvalid, headerSignature)
	}
	// The signature is checked first, so that this error means an authentic
	// but stale (or future) delivery: a replay or a skewed clock.
	if d := now.Sub(time.Unix(ts, 0)); d > tol || d < -tol {
		return fmt.Errorf("%w: %s is %s from now", ErrTimestampOutOfTolerance, headerTimestamp, d.Round(time.Second))
	}
	return nil
}
