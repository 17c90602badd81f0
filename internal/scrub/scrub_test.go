package scrub_test

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/assert"

	"github.com/otpreset/go/internal/scrub"
)

// TestCallingCodes: the table is phonenumbers' set of calling codes, so a
// code added there is noticed here.
func TestCallingCodes(t *testing.T) {
	var want []string
	for c := range phonenumbers.GetSupportedCallingCodes() {
		want = append(want, strconv.Itoa(c))
	}
	sort.Slice(want, func(i, j int) bool {
		return len(want[i]) < len(want[j]) || len(want[i]) == len(want[j]) && want[i] < want[j]
	})
	assert.Equal(t, want, scrub.CallingCodes())
}

func TestText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain text kept", "sql: connection refused", "sql: connection refused"},
		{"short numbers kept", "HTTP 503 after 3 tries, 1.5s", "HTTP 503 after 3 tries, 1.5s"},
		{"E.164 masked", "no route to +919999999999 today", "no route to +91******9999 today"},
		{"written phone masked", "to +91 99999-99999.", "to +91******9999."},
		{"code removed", "Your code is 123456", "Your code is [digits]"},
		{"code glued to letters", "otp=123456&x", "otp=[digits]&x"},
		{"10-digit code removed", "code 1234567890", "code [digits]"},
		{"spaced code removed", "code 123 456", "code [digits]"},
		{"phone without + removed", "user 919999999999 missing", "user [digits] missing"},
		{"US national removed", "call (415) 555-0123", "call ([digits]"},
		{"phone and code run together removed", "+919999999999 123456", "[digits]"},
		{"phone then code", "+919999999999, 123456", "+91******9999, [digits]"},
		{"provider error number kept", "twilio: HTTP 400, error 21211: invalid To", "twilio: HTTP 400, error 21211: invalid To"},
		{"only as an error number", "error 123456, code 21211, Error: 63016", "error [digits], code [digits], Error: 63016"},
		{"uuid", "session 3f2b8c1e-6a47-4d0b-9a51-2f1e0c7d9b10 gone", "session [token] gone"},
		{"hex", "sid SM0123456789abcdef0123456789abcdef", "sid [token]"},
		{"base64 without digits", "tok AbcdefGhijklMnopqrStuvWxyz", "tok [token]"},
		{"jwt parts", "bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.x", "bearer [token].[token].x"},
		{"identifiers kept", "otpreset_challenges_pkey violated", "otpreset_challenges_pkey violated"},
		{"control characters", "a\nb\tc\x00d", "a b c d"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, scrub.Text(tt.in))
		})
	}
}

func TestTextSecrets(t *testing.T) {
	got := scrub.Text("hash of 'correct horse battery staple' failed", "correct horse battery staple", "abc", "")
	assert.Equal(t, "hash of '[redacted]' failed", got)
	assert.Equal(t, "abc", scrub.Text("abc", "abc"), "secrets shorter than 4 bytes are not removed by value")
}

// TestTextBounded: whatever the input, at most MaxLen bytes of valid UTF-8
// come out, and a cut is marked.
func TestTextBounded(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("é", 1000),
		strings.Repeat("word ", 100_000),
		strings.Repeat("x", scrub.MaxLen),
		strings.Repeat("a b ", 5000) + "+919999999999",
	} {
		out := scrub.Text(in)
		assert.LessOrEqual(t, len(out), scrub.MaxLen)
		assert.True(t, utf8.ValidString(out))
		if len(in) > scrub.MaxLen {
			assert.True(t, strings.HasSuffix(out, "…"), "%.20q", out)
		}
	}
	assert.Equal(t, strings.Repeat("x", scrub.MaxLen), scrub.Text(strings.Repeat("x", scrub.MaxLen)), "MaxLen itself is not cut")
}

// TestTextNeverLeaks: a phone or a code of any length in any surrounding
// comes out without its hidden digits.
func TestTextNeverLeaks(t *testing.T) {
	for n := 4; n <= 10; n++ {
		code := strings.Repeat("7", n-1) + "3"
		for _, f := range []string{"%s", "code %s", "code:%s.", "(%s)", "x%sx", "+91 99999 99999 %s"} {
			out := scrub.Text(fmt.Sprintf(f, code))
			assert.NotContains(t, out, code[n-4:], "%q", fmt.Sprintf(f, code))
		}
	}
	for n := 8; n <= 15; n++ {
		phone := "+" + strings.Repeat("5", n-6) + "123456"
		out := scrub.Text("to " + phone + " failed")
		assert.NotContains(t, out, "123456", phone)
		assert.NotContains(t, out, "23456", phone)
	}
}

func TestError(t *testing.T) {
	assert.Empty(t, scrub.Error(nil))
	err := fmt.Errorf("send: %w", errors.New("to +919999999999: body 'Your code is 123456'"))
	assert.Equal(t, "send: to +91******9999: body 'Your code is [digits]'", scrub.Error(err))
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+919999999999", "+91******9999"},
		{"+14155552671", "+1******2671"},
		{"+4712345678", "+47*****678"},
		{"+37212345", "+372***45"}, // 8 digits in all
		{"+3531234567", "+353*****67"},
		{"+999123456789", "+********6789"}, // no such calling code: none shown
		{"919999999999", "********9999"},   // no '+': no calling code
		{"12345", "***45"},
		{"1234", "****"},
		{"+", "+"},
		{"", ""},
		{"+91 99999-99999", "+91******9999"},
		{"not a phone", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, scrub.MaskPhone(tt.in), "MaskPhone(%q)", tt.in)
	}
}

// BenchmarkText: a store fault of a usual length, with a phone, a code and a
// token in it, and one without anything to remove.
func BenchmarkText(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"dirty", "otpreset: verify code: redis: EVALSHA for +919876543210 code 123456: connection reset (session tok_3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c)"},
		{"clean", "otpreset: save code: sqlcore: begin: dial tcp: connection refused by the database server at the usual place"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = scrub.Text(bc.in)
			}
		})
	}
}
