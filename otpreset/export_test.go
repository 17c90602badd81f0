package otpreset

// Names the tests of package otpreset_test use that are not part of the
// public API.
const (
	DefaultCodeTTL         = defaultCodeTTL
	DefaultMaxCodeAttempts = defaultMaxCodeAttempts
	DefaultMaxBodyBytes    = defaultMaxBodyBytes
	DefaultLockoutAttempts = defaultLockoutAttempts
	DefaultLockoutWindow   = defaultLockoutWindow
)

type ResetResponse = resetResponse

// ParseRate parses a rate as New does (no default).
func ParseRate(s string) (rate, error) { return parseRate(s, "") }

const MaskedPassword = maskedPassword
