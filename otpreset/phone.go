package otpreset

import (
	"errors"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"

	"github.com/otpreset/go/sms"
)

// ErrInvalidPhone is returned by NormalizePhone for input that is not a
// phone number.
var ErrInvalidPhone = errors.New("otpreset: invalid phone number")

// NormalizePhone parses a phone number in international form ("+91 99999
// 99999", "+919999999999", "00919999999999") and returns it in E.164.
// Numbers without a country code are refused: the API has no region to
// assume. So are numbers phonenumbers does not hold valid.
func NormalizePhone(s string) (string, error) {
	info, err := lookupPhone(s)
	return info.e164, err
}

// phoneInfo is what the handler needs of a number, parsed once.
type phoneInfo struct {
	e164        string
	countryCode int
	numberType  phonenumbers.PhoneNumberType
}

// phoneCache keeps recent successful parses: parsing costs about 24 µs and
// 85 allocations, and the same phones come back (a send, then its reset).
// Only numbers that parsed are kept, and only inputs no longer than
// maxPhoneInput, so what a client sends cannot grow it: it holds at most
// phoneCacheSize entries of at most maxPhoneInput bytes of key (and an E.164
// number) each, about 600 KiB, and is dropped whole when full.
var phoneCache = struct {
	sync.Mutex
	m map[string]phoneInfo
}{m: map[string]phoneInfo{}}

const (
	phoneCacheSize = 4096
	// maxPhoneInput is the longest phone input parsed at all: the longest
	// E.164 number is 16 bytes; 64 leaves room for spaces and punctuation.
	maxPhoneInput = 64
)

func lookupPhone(s string) (phoneInfo, error) {
	if len(s) > maxPhoneInput {
		return phoneInfo{}, ErrInvalidPhone
	}
	phoneCache.Lock()
	info, ok := phoneCache.m[s]
	phoneCache.Unlock()
	if ok {
		return info, nil
	}
	info, err := parsePhone(s)
	if err != nil {
		return phoneInfo{}, err // never cache what was refused
	}
	phoneCache.Lock()
	if len(phoneCache.m) >= phoneCacheSize {
		phoneCache.m = make(map[string]phoneInfo, phoneCacheSize)
	}
	phoneCache.m[s] = info
	phoneCache.Unlock()
	return info, nil
}

func parsePhone(s string) (phoneInfo, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxPhoneInput {
		return phoneInfo{}, ErrInvalidPhone
	}
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if !strings.HasPrefix(s, "+") {
		return phoneInfo{}, ErrInvalidPhone
	}
	n, err := phonenumbers.Parse(s, "ZZ")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return phoneInfo{}, ErrInvalidPhone
	}
	out := phonenumbers.Format(n, phonenumbers.E164)
	// Some numbering plans (a national prefix that is also a leading digit,
	// as in Bangladesh) make Parse strip a digit from its own output. Such a
	// number could be stored in one form and looked up in another, so it is
	// refused rather than changed twice.
	again, err := phonenumbers.Parse(out, "ZZ")
	if err != nil || phonenumbers.Format(again, phonenumbers.E164) != out {
		return phoneInfo{}, ErrInvalidPhone
	}
	// E.164 allows at most 15 digits. phonenumbers can hold a longer number
	// valid (found by FuzzNormalizePhone: "+8100oo000A0000000", letters
	// read as keypad digits, gave 17), which no SMS route takes.
	if len(out) > 16 {
		return phoneInfo{}, ErrInvalidPhone
	}
	return phoneInfo{e164: out, countryCode: int(n.GetCountryCode()), numberType: phonenumbers.GetNumberType(n)}, nil
}

// maskPhone hides the middle of a phone number for logs:
// "+919999999999" -> "+91******9999".
func maskPhone(e164 string) string { return sms.MaskPhone(e164) }
