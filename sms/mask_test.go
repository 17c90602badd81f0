package sms_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/otpreset/go/sms"
)

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+919999999999", "+91******9999"},
		{"+14155552671", "+1******2671"},
		{"+4412345678", "+44*****678"},
		{"+37212345", "+372***45"},
		{"+1234567", "+1****67"},
		{"12345", "***45"},
		{"1234", "****"},
		{"+", "+"},
		{"", ""},
		{"+91 99999-99999", "+91******9999"},
		{"not a phone", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, sms.MaskPhone(tt.in), "MaskPhone(%q)", tt.in)
	}
}

// TestMaskPhoneShowsLittle: for every E.164 length (8 to 15 digits) and
// every length of calling code (1 to 3 digits), the mask shows the calling
// code and the last 2 to 4 digits, and hides the rest: at least 3 digits,
// and at least half of the national number.
func TestMaskPhoneShowsLittle(t *testing.T) {
	for _, cc := range []string{"1", "44", "372"} {
		for n := 8; n <= 15; n++ {
			national := strings.Repeat("0123456789", 2)[:n-len(cc)]
			phone := "+" + cc + national
			masked := sms.MaskPhone(phone)
			hidden := strings.Count(masked, "*")
			shown := len(national) - hidden
			assert.Equal(t, "+"+cc, masked[:1+len(cc)], "%s -> %s: the calling code is shown", phone, masked)
			assert.True(t, strings.HasSuffix(phone, masked[1+len(cc)+hidden:]), "%s -> %s: the shown digits are the last ones", phone, masked)
			assert.GreaterOrEqual(t, shown, 2, "%s -> %s", phone, masked)
			assert.LessOrEqual(t, shown, 4, "%s -> %s", phone, masked)
			assert.GreaterOrEqual(t, hidden, 3, "%s -> %s", phone, masked)
			assert.GreaterOrEqual(t, 2*hidden, len(national), "%s -> %s: at least half of the national number hidden", phone, masked)
			assert.Len(t, masked, len(phone), "%s -> %s: one star per hidden digit", phone, masked)
		}
	}
}
