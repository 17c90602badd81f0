package password

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// Defaults of the zero Policy (NIST SP 800-63B).
const (
	// DefaultMinLength is the minimum number of characters.
	DefaultMinLength = 8
	// DefaultMaxLength is the maximum number of characters. NIST asks for at
	// least 64; 128 leaves room for passphrases while bounding hashing work.
	DefaultMaxLength = 128
)

// FieldPassword is the Field of every Problem this package reports.
const FieldPassword = "password"

// Sentinel errors of the policy. A *ValidationError matches ErrPolicy and
// the sentinel of each of its problems.
var (
	// ErrPolicy: the password breaks the policy (any rule).
	ErrPolicy = errors.New("password: policy violated")
	// ErrTooShort: fewer characters than MinLength.
	ErrTooShort = errors.New("password: too short")
	// ErrTooLong: more characters than MaxLength.
	ErrTooLong = errors.New("password: too long")
	// ErrContainsPhone: the password contains the account's phone number.
	ErrContainsPhone = errors.New("password: contains the phone number")
	// ErrInvalidEncoding: the password is not valid UTF-8.
	ErrInvalidEncoding = errors.New("password: not valid UTF-8")
	// ErrInvalidPolicy: the Policy itself is inconsistent (a configuration
	// error, not the user's fault); returned by Validate and Check.
	ErrInvalidPolicy = errors.New("password: invalid policy")
)

// Policy is the set of rules a new password must meet.
//
// The zero value is NIST SP 800-63B's policy: 8 to 128 characters, any
// Unicode, no composition rules, and the phone is not checked. A Policy is a
// plain value, safe for concurrent use.
type Policy struct {
	// MinLength is the minimum number of characters: Unicode code points,
	// counted on the password as sent and again after NFKC normalisation,
	// both of which must reach it. Zero means DefaultMinLength (8).
	MinLength int
	// MaxLength is the maximum number of characters, counted the same way.
	// Zero means DefaultMaxLength (128). Longer passwords are rejected, never
	// truncated.
	MaxLength int
	// RejectContainingPhone rejects a password that contains the account's
	// phone number: its E.164 digits (919999999999 for +919999999999) or its
	// national significant number (9999999999). Digits are compared after
	// NFKC (so fullwidth digits count) and ignoring the separators
	// " -.()/+" between them, so "99999-99999" is caught too.
	RejectContainingPhone bool
}

// Problem is one broken rule, in the shape of LoginRadius's
// Errors[{FieldName, ErrorMessage}].
type Problem struct {
	// Field is always FieldPassword ("password").
	Field string
	// Message is a human-readable sentence fit to show to the user,
	// for example "The password must be at least 8 characters long".
	Message string
	// Err is the specific sentinel: ErrTooShort, ErrTooLong,
	// ErrContainsPhone or ErrInvalidEncoding.
	Err error
}

// ValidationError is a password that breaks the policy. It never holds the
// password.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Message
	}
	return ErrPolicy.Error() + ": " + strings.Join(msgs, "; ")
}

// Unwrap returns ErrPolicy and each problem's sentinel, so errors.Is matches
// ErrPolicy as well as, say, ErrTooShort.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, 0, 1+len(e.Problems))
	errs = append(errs, ErrPolicy)
	for _, p := range e.Problems {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}

// Normalize returns pw in Unicode normalisation form NFKC, the form Check
// returns and that otpreset hashes. A host verifying a password that
// otpreset set must normalise the candidate the same way.
func Normalize(pw string) string { return norm.NFKC.String(pw) }

// limits returns the effective minimum and maximum lengths.
func (p Policy) limits() (minLen, maxLen int) {
	minLen, maxLen = p.MinLength, p.MaxLength
	if minLen == 0 {
		minLen = DefaultMinLength
	}
	if maxLen == 0 {
		maxLen = DefaultMaxLength
	}
	return minLen, maxLen
}

// Validate reports whether the policy is usable: lengths not negative and
// the (defaulted) minimum not above the maximum. The error wraps
// ErrInvalidPolicy. Call it once at start-up.
func (p Policy) Validate() error {
	if p.MinLength < 0 || p.MaxLength < 0 {
		return fmt.Errorf("%w: negative length (min %d, max %d)", ErrInvalidPolicy, p.MinLength, p.MaxLength)
	}
	if minLen, maxLen := p.limits(); minLen > maxLen {
		return fmt.Errorf("%w: MinLength %d above MaxLength %d", ErrInvalidPolicy, minLen, maxLen)
	}
	return nil
}

// maxExpansion bounds how many code points NFKC can merge into one (a
// Greek letter with three combining marks composes 4 to 1). Input longer
// than maxExpansion*4 bytes per allowed character cannot normalise to an
// allowed length, so Check rejects it without normalising it.
const maxExpansion = 8

// Check applies the policy to pw, the new password as the user sent it, and
// phoneE164, the account's phone in E.164 ("+919999999999"; only used with
// RejectContainingPhone, may be empty).
//
// It returns the NFKC-normalised password, the string to hash, or an error:
// a *ValidationError (matching ErrPolicy and the specific sentinels) when
// the password breaks a rule, or an error wrapping ErrInvalidPolicy when the
// Policy itself is inconsistent. All broken rules are reported together,
// except invalid UTF-8, which is reported alone.
func (p Policy) Check(pw, phoneE164 string) (normalized string, err error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	minLen, maxLen := p.limits()
	if !utf8.ValidString(pw) {
		return "", &ValidationError{Problems: []Problem{{
			Field:   FieldPassword,
			Message: "The password must be valid UTF-8 text",
			Err:     ErrInvalidEncoding,
		}}}
	}
	var problems []Problem
	tooLong := func() {
		problems = append(problems, Problem{
			Field:   FieldPassword,
			Message: fmt.Sprintf("The password must be at most %d characters long", maxLen),
			Err:     ErrTooLong,
		})
	}
	if len(pw) > maxExpansion*utf8.UTFMax*maxLen {
		// Too long whatever NFKC does; do not spend work normalising it.
		tooLong()
		return "", &ValidationError{Problems: problems}
	}
	normalized = Normalize(pw)
	// Counted as sent and again after NFKC: one code point such as U+FDFA
	// expands to 18 under NFKC, and must not pass a minimum of 8 as one.
	sent, norm := utf8.RuneCountInString(pw), utf8.RuneCountInString(normalized)
	switch {
	case min(sent, norm) < minLen:
		problems = append(problems, Problem{
			Field:   FieldPassword,
			Message: fmt.Sprintf("The password must be at least %d characters long", minLen),
			Err:     ErrTooShort,
		})
	case max(sent, norm) > maxLen:
		tooLong()
	}
	if p.RejectContainingPhone && containsPhone(normalized, phoneE164) {
		problems = append(problems, Problem{
			Field:   FieldPassword,
			Message: "The password must not contain your phone number",
			Err:     ErrContainsPhone,
		})
	}
	if len(problems) > 0 {
		return "", &ValidationError{Problems: problems}
	}
	return normalized, nil
}

// minPhoneNeedle is the shortest digit run treated as "the phone number";
// anything shorter is not a usable phone and would reject ordinary passwords.
const minPhoneNeedle = 4

// phoneNeedles returns the digit strings that identify the phone: its E.164
// digits and, when the number parses, its national significant number.
func phoneNeedles(e164 string) []string {
	var needles []string
	if d := digitsOnly(e164); len(d) >= minPhoneNeedle {
		needles = append(needles, d)
	}
	if num, err := phonenumbers.Parse(e164, "ZZ"); err == nil {
		if nsn := phonenumbers.GetNationalSignificantNumber(num); len(nsn) >= minPhoneNeedle {
			needles = append(needles, nsn)
		}
	}
	return needles
}

// containsPhone reports whether pw (already NFKC, so fullwidth digits are
// ASCII) contains one of the phone's digit strings, ignoring separators.
func containsPhone(pw, e164 string) bool {
	needles := phoneNeedles(e164)
	if len(needles) == 0 {
		return false
	}
	compact := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')', '/', '+':
			return -1
		}
		return r
	}, pw)
	for _, n := range needles {
		if strings.Contains(compact, n) {
			return true
		}
	}
	return false
}

func digitsOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
