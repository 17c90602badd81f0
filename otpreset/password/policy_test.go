package password

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPolicyCheck(t *testing.T) {
	const phone = "+919999999999"
	allSentinels := []error{ErrTooShort, ErrTooLong, ErrContainsPhone, ErrInvalidEncoding}
	tests := []struct {
		name   string
		policy Policy
		pw     string
		phone  string
		want   string  // normalised password when accepted
		errs   []error // sentinels the error must match; nil when accepted
		msgs   []string
	}{
		{name: "seed password", pw: "StrongP@ssw0rd!", want: "StrongP@ssw0rd!"},
		{name: "empty", pw: "", errs: []error{ErrTooShort},
			msgs: []string{"The password must be at least 8 characters long"}},
		{name: "seven", pw: "abcdefg", errs: []error{ErrTooShort},
			msgs: []string{"The password must be at least 8 characters long"}},
		{name: "exactly eight", pw: "abcdefgh", want: "abcdefgh"},
		{name: "exactly 128", pw: strings.Repeat("a", 128), want: strings.Repeat("a", 128)},
		{name: "129", pw: strings.Repeat("a", 129), errs: []error{ErrTooLong},
			msgs: []string{"The password must be at most 128 characters long"}},
		{name: "spaces count and are kept", pw: "  a b c  ", want: "  a b c  "},
		// 7 code points but 21 bytes: a byte count would accept it.
		{name: "CJK counted as code points", pw: "密码密码密码密", errs: []error{ErrTooShort}},
		{name: "Cyrillic eight", pw: "пароль12", want: "пароль12"},
		{name: "emoji eight", pw: strings.Repeat("🔑", 8), want: strings.Repeat("🔑", 8)},
		// 128 code points of 3 bytes each: 384 bytes, still within the limit.
		{name: "128 multi-byte", pw: strings.Repeat("€", 128), want: strings.Repeat("€", 128)},
		{name: "129 multi-byte", pw: strings.Repeat("€", 129), errs: []error{ErrTooLong}},
		// NFKC: fullwidth letters become ASCII.
		{name: "fullwidth normalised", pw: "ＳｔｒｏｎｇＰ＠ｓｓ", want: "StrongP@ss"},
		// Length is counted as sent and after NFKC, and both must reach the
		// minimum: the "ﬁ" ligature is one character as sent, two after.
		{name: "fi ligatures counted as sent", pw: "ﬁﬁﬁﬁ", errs: []error{ErrTooShort}},
		{name: "eight fi ligatures", pw: "ﬁﬁﬁﬁﬁﬁﬁﬁ", want: "fifififififififi"},
		// U+FDFA is one code point that NFKC turns into 18: one character,
		// not 18, so it is too short.
		{name: "U+FDFA is one character", pw: "\uFDFA", errs: []error{ErrTooShort}},
		{name: "U+FDFA and seven more", pw: "\uFDFA1234567", want: Normalize("\uFDFA1234567")},
		// NFKC composes e + combining acute into é: 10 code points become 8.
		{name: "combining marks composed", pw: "cafe\u0301cafe\u0301", want: "cafécafé"},
		// 129 code points as sent are too many, even if NFKC composes them
		// into 128.
		{name: "129 as sent, 128 after composition",
			pw:   strings.Repeat("a", 127) + "e\u0301",
			errs: []error{ErrTooLong}},
		{name: "128 as sent, 127 after composition",
			pw:   strings.Repeat("a", 126) + "e\u0301",
			want: strings.Repeat("a", 126) + "é"},
		{name: "invalid UTF-8", pw: "abc\xffdefgh", errs: []error{ErrInvalidEncoding},
			msgs: []string{"The password must be valid UTF-8 text"}},
		{name: "invalid UTF-8 and short", pw: "\xfe", errs: []error{ErrInvalidEncoding}},
		{name: "huge input", pw: strings.Repeat("a", 1<<20), errs: []error{ErrTooLong}},
		{name: "custom minimum", policy: Policy{MinLength: 12}, pw: "abcdefghijk", errs: []error{ErrTooShort},
			msgs: []string{"The password must be at least 12 characters long"}},
		{name: "custom maximum", policy: Policy{MaxLength: 10}, pw: "abcdefghijk", errs: []error{ErrTooLong},
			msgs: []string{"The password must be at most 10 characters long"}},

		{name: "phone ignored by default", pw: "x9999999999x", phone: phone, want: "x9999999999x"},
		{name: "contains national number", policy: Policy{RejectContainingPhone: true},
			pw: "abc9999999999", phone: phone, errs: []error{ErrContainsPhone},
			msgs: []string{"The password must not contain your phone number"}},
		{name: "contains E.164", policy: Policy{RejectContainingPhone: true},
			pw: "pw+919999999999", phone: phone, errs: []error{ErrContainsPhone}},
		{name: "contains phone with separators", policy: Policy{RejectContainingPhone: true},
			pw: "my 99999-99999 pw", phone: phone, errs: []error{ErrContainsPhone}},
		{name: "contains phone in fullwidth digits", policy: Policy{RejectContainingPhone: true},
			pw: "９９９９９９９９９９ok", phone: phone, errs: []error{ErrContainsPhone}},
		{name: "national number of a UK phone", policy: Policy{RejectContainingPhone: true},
			pw: "home07700900123", phone: "+447700900123", errs: []error{ErrContainsPhone}},
		{name: "part of the phone is fine", policy: Policy{RejectContainingPhone: true},
			pw: "abc99999999", phone: phone, want: "abc99999999"},
		{name: "other digits are fine", policy: Policy{RejectContainingPhone: true},
			pw: "abc9999999998", phone: phone, want: "abc9999999998"},
		{name: "no phone given", policy: Policy{RejectContainingPhone: true},
			pw: "abc9999999999", phone: "", want: "abc9999999999"},
		{name: "too long and contains phone", policy: Policy{MaxLength: 12, RejectContainingPhone: true},
			pw: "abc9999999999", phone: phone, errs: []error{ErrTooLong, ErrContainsPhone},
			msgs: []string{"The password must be at most 12 characters long", "The password must not contain your phone number"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.policy.Check(tc.pw, tc.phone)
			if tc.errs == nil {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return
			}
			require.Error(t, err)
			assert.Empty(t, got, "no password is returned with an error")
			assert.ErrorIs(t, err, ErrPolicy)
			for _, s := range allSentinels {
				assert.Equal(t, containsErr(tc.errs, s), errors.Is(err, s), "errors.Is(err, %v)", s)
			}
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, len(tc.errs))
			for i, p := range ve.Problems {
				assert.Equal(t, "password", p.Field)
				assert.ErrorIs(t, p.Err, tc.errs[i])
				assert.NotEmpty(t, p.Message)
				if tc.msgs != nil {
					assert.Equal(t, tc.msgs[i], p.Message)
				}
			}
			if utf8.ValidString(tc.pw) && tc.pw != "" {
				assert.NotContains(t, err.Error(), tc.pw, "the error must not hold the password")
			}
		})
	}
}

func containsErr(errs []error, target error) bool {
	for _, e := range errs {
		if e == target {
			return true
		}
	}
	return false
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		invalid bool
	}{
		{name: "zero", policy: Policy{}},
		{name: "custom", policy: Policy{MinLength: 15, MaxLength: 64}},
		{name: "min equals max", policy: Policy{MinLength: 20, MaxLength: 20}},
		{name: "min above default max", policy: Policy{MinLength: 200}, invalid: true},
		{name: "max below default min", policy: Policy{MaxLength: 6}, invalid: true},
		{name: "negative min", policy: Policy{MinLength: -1}, invalid: true},
		{name: "negative max", policy: Policy{MaxLength: -1}, invalid: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Validate()
			_, checkErr := tc.policy.Check("StrongP@ssw0rd!", "")
			if !tc.invalid {
				assert.NoError(t, err)
				assert.NotErrorIs(t, checkErr, ErrInvalidPolicy)
				return
			}
			assert.ErrorIs(t, err, ErrInvalidPolicy)
			assert.ErrorIs(t, checkErr, ErrInvalidPolicy)
			assert.NotErrorIs(t, checkErr, ErrPolicy, "a bad configuration is not the user's fault")
		})
	}
}

func TestNormalizeIsWhatCheckReturns(t *testing.T) {
	for _, pw := range []string{"ＡＢＣＤＥＦＧＨ", "ﬁﬁﬁﬁﬁﬁﬁﬁ", "cafe\u0301 au lait", "Ⅻ roman twelve"} {
		got, err := Policy{}.Check(pw, "")
		require.NoError(t, err, pw)
		assert.Equal(t, Normalize(pw), got)
		assert.Equal(t, got, Normalize(got), "NFKC is idempotent")
	}
	assert.Equal(t, "XII roman twelve", Normalize("Ⅻ roman twelve"))
}

func TestValidationErrorMessage(t *testing.T) {
	err := &ValidationError{Problems: []Problem{
		{Field: "password", Message: "first", Err: ErrTooLong},
		{Field: "password", Message: "second", Err: ErrContainsPhone},
	}}
	assert.Equal(t, "password: policy violated: first; second", err.Error())
	assert.ErrorIs(t, err, ErrTooLong)
	assert.ErrorIs(t, err, ErrContainsPhone)
	assert.NotErrorIs(t, err, ErrTooShort)
}
