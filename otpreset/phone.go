package otpreset

import (
	"errors"
	"hash/maphash"
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

// phones remembers recent successful parses, keyed by the exact input:
// parsing costs tens of microseconds and about 85 allocations (regular
// expressions over libphonenumber's metadata), and the same inputs come back
// (a send, then its reset; a user's retries; a guesser's wrong codes for one
// phone). A parse depends on its input alone (the region is always "ZZ"),
// so a remembered answer is the answer.
//
// It must hold a whole working set of phones, not just the last few: a
// server serving thousands of phones in turn, each once in a while, gets
// nothing from a cache smaller than that set. And it must stay bounded
// whatever a client sends. So it is phoneShards shards, each two
// generations of at most phoneGeneration entries: a hit in the old
// generation moves the entry to the young one, and a full young generation
// becomes the old one, the old one being dropped. A phone used again before
// phoneGeneration other phones of its shard come is always found (about
// 16,000 phones in all), and the cache never holds more than phoneCacheMax
// entries, each a key of at most maxPhoneInput bytes and an E.164 number:
// at most about 6 MiB, about 4 MiB for inputs in E.164 form. Refusals are
// not kept (they would only push out phones that parse). Shards keep
// concurrent requests off one lock.
var phones = phoneCache{seed: maphash.MakeSeed(), generation: phoneGeneration}

const (
	phoneShards     = 16
	phoneGeneration = 1024
	phoneCacheMax   = phoneShards * 2 * phoneGeneration
	// maxPhoneInput is the longest phone input parsed at all: the longest
	// E.164 number is 16 bytes; 64 leaves room for spaces and punctuation.
	maxPhoneInput = 64
)

type phoneCache struct {
	seed       maphash.Seed
	generation int // phoneGeneration; smaller in tests, to see swaps
	shards     [phoneShards]phoneShard
}

type phoneShard struct {
	mu         sync.Mutex
	young, old map[string]phoneInfo
}

func (c *phoneCache) shard(s string) *phoneShard {
	return &c.shards[maphash.String(c.seed, s)%phoneShards]
}

func (c *phoneCache) get(s string) (phoneInfo, bool) {
	sh := c.shard(s)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	info, ok := sh.young[s]
	if !ok {
		if info, ok = sh.old[s]; ok {
			c.putLocked(sh, s, info) // still in use: keep it past the next swap
		}
	}
	return info, ok
}

func (c *phoneCache) put(s string, info phoneInfo) {
	// The key is copied so that it never pins a larger string it was cut
	// from, and the E.164 number shares it when they are the same text.
	s = strings.Clone(s)
	if info.e164 == s {
		info.e164 = s
	}
	sh := c.shard(s)
	sh.mu.Lock()
	c.putLocked(sh, s, info)
	sh.mu.Unlock()
}

func (c *phoneCache) putLocked(sh *phoneShard, s string, info phoneInfo) {
	if len(sh.young) >= c.generation {
		sh.old, sh.young = sh.young, nil
	}
	if sh.young == nil {
		// Sized as the generation before it, which a busy shard fills again.
		sh.young = make(map[string]phoneInfo, len(sh.old))
	}
	sh.young[s] = info
}

func lookupPhone(s string) (phoneInfo, error) { return phones.lookup(s) }

// lookup is parsePhone's answer for s, from the cache where it can be.
func (c *phoneCache) lookup(s string) (phoneInfo, error) {
	if len(s) > maxPhoneInput {
		return phoneInfo{}, ErrInvalidPhone
	}
	if info, ok := c.get(s); ok {
		return info, nil
	}
	info, err := parsePhone(s)
	if err != nil {
		return phoneInfo{}, err // never cache what was refused
	}
	c.put(s, info)
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
