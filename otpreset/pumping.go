package otpreset

import (
	"strconv"

	"github.com/nyaruka/phonenumbers"
)

// SMSPumping guards a tenant against SMS pumping (toll fraud): attackers who
// ask for codes to premium or foreign numbers they are paid for. A refused
// number gets the same answer as an unknown one: no SMS, no hint.
type SMSPumping struct {
	// AllowedCallingCodes, when not empty, is the only set of country
	// calling codes (91 for India, 1 for NANP) codes are sent to.
	AllowedCallingCodes []int
	// PrefixDailyCap caps SMS per number prefix (the first PrefixDigits
	// digits of the E.164 number) as a rate; default "200-1D", "off" to
	// disable. Pumping rings use blocks of consecutive numbers.
	PrefixDailyCap string
	// PrefixDigits is the prefix length in digits (country code included);
	// default 6.
	PrefixDigits int
	// AllowNonMobile sends to numbers that phonenumbers says are not mobile
	// (fixed line, premium rate, toll free, shared cost, VoIP, pager, UAN,
	// voicemail). Off by default: a reset code goes to a phone that reads
	// SMS. Numbers whose type cannot be told are allowed.
	AllowNonMobile bool
}

// Default SMS pumping limits.
const (
	DefaultPrefixDailyCap = "200-1D"
	DefaultPrefixDigits   = 6
)

// pumpingRefusal returns why e164 must not get an SMS, or "".
func pumpingRefusal(p SMSPumping, e164 string) string {
	n, err := lookupPhone(e164)
	if err != nil {
		return "unparseable"
	}
	if len(p.AllowedCallingCodes) > 0 {
		allowed := false
		for _, c := range p.AllowedCallingCodes {
			if c == n.countryCode {
				allowed = true
				break
			}
		}
		if !allowed {
			return "calling code +" + strconv.Itoa(n.countryCode) + " not allowed"
		}
	}
	if !p.AllowNonMobile {
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
func phonePrefix(p SMSPumping, e164 string) string {
	n := p.PrefixDigits
	if n <= 0 {
		n = DefaultPrefixDigits
	}
	if len(e164) > n+1 {
		return e164[:n+1]
	}
	return e164
}
