package otpreset

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds New holds values to that Go would accept but a host never means.
const (
	// minCodeTTL and maxCodeTTL bound Tenant.CodeTTL: a code must live long
	// enough for an SMS to arrive and be typed, and not so long that a code
	// read off a shared screen or a forwarded SMS still opens the account
	// hours later (LoginRadius's default, and ours, is 5 minutes).
	minCodeTTL = time.Minute
	maxCodeTTL = time.Hour
	// maxCodeAttemptsBound bounds Tenant.MaxCodeAttempts: each wrong try
	// is a guess at the code.
	maxCodeAttemptsBound = 10
	// noCodeAttemptLimit is the one negative MaxCodeAttempts New accepts.
	noCodeAttemptLimit = -1
	// A Secret with fewer distinct bytes than minSecretDistinct, or that
	// repeats a pattern of at most maxSecretPeriod bytes, is a placeholder
	// or a password, not 32 random bytes.
	minSecretDistinct = 8
	maxSecretPeriod   = 16
)

// checkSecret refuses a Config.Secret that is long enough but plainly not
// random: few distinct bytes, one short pattern repeated ("password" four
// times), or a run of consecutive byte values (0, 1, 2, ...). It never
// quotes the secret. The length is checked by the caller.
func checkSecret(secret []byte) error {
	const draw = "; draw it from crypto/rand (openssl rand -hex 32, decoded)"
	var seen [256]bool
	distinct := 0
	for _, b := range secret {
		if !seen[b] {
			seen[b] = true
			distinct++
		}
	}
	if distinct < minSecretDistinct {
		return fmt.Errorf("Config.Secret has only %d distinct byte values (fewer than %d)%s", distinct, minSecretDistinct, draw)
	}
	if p := period(secret, maxSecretPeriod); p > 0 {
		return fmt.Errorf("Config.Secret repeats one %d-byte pattern%s", p, draw)
	}
	if consecutive(secret) {
		return fmt.Errorf("Config.Secret is a run of evenly spaced byte values (such as 0, 1, 2, ...)%s", draw)
	}
	return nil
}

// period returns the shortest p <= maxP such that b is b[:p] repeated (the
// last repetition may be cut short), or 0.
func period(b []byte, maxP int) int {
	for p := 1; p <= maxP && p < len(b); p++ {
		i := p
		for i < len(b) && b[i] == b[i-p] {
			i++
		}
		if i == len(b) {
			return p
		}
	}
	return 0
}

// consecutive reports whether every byte of b differs from the one before by
// the same amount (modulo 256).
func consecutive(b []byte) bool {
	if len(b) < 2 {
		return true
	}
	step := b[1] - b[0]
	for i := 2; i < len(b); i++ {
		if b[i]-b[i-1] != step {
			return false
		}
	}
	return true
}

// checkTenant refuses the tenant fields that are in range for Go but wrong
// for a host: an API key no request can carry, a Domain that is not a bare
// host name, a code lifetime or a number of tries per code beyond sane
// bounds. apiKey is the key the tenant is configured or resolved under.
func checkTenant(apiKey string, t *Tenant) error {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if apiKey == "" {
		bad(`the API key is "": a request without a key is refused (908) before any tenant is looked up, so this tenant could never be reached`)
	}
	if err := checkDomain(t.Domain); err != nil {
		problems = append(problems, err)
	}
	switch ttl := t.CodeTTL; {
	case ttl == 0:
	case ttl > 0 && ttl < time.Microsecond:
		bad("CodeTTL is %s: a time.Duration counts nanoseconds; write %d * time.Second", ttl, int64(ttl))
	case ttl > 0 && ttl < minCodeTTL:
		bad("CodeTTL %s is under %s: too short for an SMS to arrive and be typed", ttl, minCodeTTL)
	case ttl > maxCodeTTL:
		bad("CodeTTL %s is over %s: a code opens the account for as long as it lives, so one read off a shared "+
			"screen or a forwarded SMS would still work hours later (the default, LoginRadius's, is 5 minutes)", ttl, maxCodeTTL)
	}
	switch n := t.MaxCodeAttempts; {
	case n == noCodeAttemptLimit, n >= 0 && n <= maxCodeAttemptsBound:
	case n < 0:
		bad("MaxCodeAttempts %d must not be negative (-1, for load tests only, lifts the per-code limit)", n)
	default:
		bad("MaxCodeAttempts %d is over %d: every wrong try is a guess at the code (the default is 5)", n, maxCodeAttemptsBound)
	}
	return errors.Join(problems...)
}

// codeAttempts is MaxCodeAttempts with its default applied, and -1 (no
// per-code limit) as the largest count a store keeps.
func codeAttempts(n int) int {
	if n == noCodeAttemptLimit {
		return math.MaxInt32
	}
	return orDefault(n, defaultMaxCodeAttempts)
}

// checkDomain refuses a Tenant.Domain that is not a bare host name, with the
// host name it most likely meant. The SMS's autofill line is "@" + Domain +
// " #" + code, and browsers and phone keyboards offer the code only when
// that names the page's host exactly.
func checkDomain(d string) error {
	if d == "" || isHostName(d) {
		return nil
	}
	hint := ""
	if h := bareHost(d); h != "" && isHostName(h) {
		hint = fmt.Sprintf(" such as %q", h)
	}
	return fmt.Errorf("the Domain %q must be a bare host name%s (no scheme, path, port or trailing slash or dot): "+
		"the SMS would end %q, which autofill (WebOTP) matches to no site", d, hint, "@"+d+" #123456")
}

// bareHost digs the host name out of what was probably a URL or host:port.
func bareHost(s string) string {
	s = strings.TrimSpace(s)
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

// isHostName reports whether s is a host name as an autofill line carries
// it: dot-separated labels of letters, digits and inner hyphens (non-ASCII
// letters allowed, for internationalised names), at most 63 bytes each and
// 253 in all.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 || !utf8.ValidString(s) {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return false
			}
		}
	}
	return true
}

// maskAPIKey names an API key in an error or a log line without giving it
// away: its first few characters (at most 4, and at most half of it), then
// "…"; "" for the empty key.
func maskAPIKey(key string) string {
	if key == "" {
		return ""
	}
	n := min(4, utf8.RuneCountInString(key)/2)
	i := 0
	for range n {
		_, size := utf8.DecodeRuneInString(key[i:])
		i += size
	}
	return key[:i] + "…"
}
