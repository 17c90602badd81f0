package otpreset

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
	"github.com/otpreset/otpreset/sms"
)

// ErrInvalidPhone is returned by NormalizePhone for input that is not a
// phone number.
var ErrInvalidPhone = errors.New("otpreset: invalid phone number")

// NormalizePhone parses a phone number in international form ("+91 99999
// 99999", "+919999999999", "00919999999999") and returns it in E.164.
// Numbers without a country code are refused: the API has no region to
// assume.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return "", ErrInvalidPhone
	}
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if !strings.HasPrefix(s, "+") {
		return "", ErrInvalidPhone
	}
	n, err := phonenumbers.Parse(s, "ZZ")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", ErrInvalidPhone
	}
	out := phonenumbers.Format(n, phonenumbers.E164)
	// Some numbering plans (a national prefix that is also a leading digit,
	// as in Bangladesh) make Parse strip a digit from its own output. Such a
	// number could be stored in one form and looked up in another, so it is
	// refused rather than changed twice.
	again, err := phonenumbers.Parse(out, "ZZ")
	if err != nil || phonenumbers.Format(again, phonenumbers.E164) != out {
		return "", ErrInvalidPhone
	}
	return out, nil
}

// MaskPhone hides the middle of a phone number for logs:
// "+919999999999" -> "+91******9999".
func MaskPhone(e164 string) string { return sms.MaskPhone(e164) }
