package sms

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// The GSM 03.38 default alphabet has 128 positions, one of them the escape
// to the extension table; the extension table has 10 characters.
func TestGSM7Tables(t *testing.T) {
	assert.Equal(t, 127, utf8.RuneCountInString(gsm7Basic))
	assert.Equal(t, 10, utf8.RuneCountInString(gsm7Extension))
	seen := map[rune]bool{}
	for _, r := range gsm7Basic + gsm7Extension {
		assert.False(t, seen[r], "%q listed twice", r)
		seen[r] = true
	}
}
