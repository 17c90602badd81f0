package sms_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/otpreset/go/sms"
)

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+919999999999", "+91******9999"},
		{"+14155552671", "+14*****2671"},
		{"+4412345678", "+44****5678"},
		{"+1234567", "+*****67"},
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
