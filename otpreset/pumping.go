package otpreset

import (
	"strconv"

	"github.com/nyaruka/phonenumbers"
)

// pumpingRefusal returns why e164 must not get an SMS, or "".
func pumpingRefusal(t *settings, e164 string) string {
	n, err := lookupPhone(e164)
	if err != nil {
		return "unparseable"
	}
	if len(t.allowedCallingCodes) > 0 {
		allowed := false
		for _, c := range t.allowedCallingCodes {
			if c == n.countryCode {
				allowed = true
				break
			}
		}
		if !allowed {
			return "calling code +" + strconv.Itoa(n.countryCode) + " not allowed"
		}
	}
	if !t.allowNonMobile {
		switch n.numberType {
		case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE, phonenumbers.UNKNOWN:
		default:
			return "not a mobile number"
		}
	}
	return ""
}

// phonePrefix is the first digits of e164 ("+9199999...") used for the
// per-prefix cap.
func phonePrefix(n int, e164 string) string {
	if len(e164) > n+1 {
		return e164[:n+1]
	}
	return e164
}
