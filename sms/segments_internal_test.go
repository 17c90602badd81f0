package sms

import (
	"strings"
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

func TestSegments(t *testing.T) {
	rep := strings.Repeat
	tests := []struct {
		name     string
		body     string
		n        int
		encoding string
	}{
		{"empty", "", 0, encodingGSM7},
		{"short", "123456 is your code", 1, encodingGSM7},
		{"gsm accents", "Gültig 5 Min. Ça expire à 12:00, señor. ¿ok? ÆØÅ é è ù ì ò", 1, encodingGSM7},
		{"o acute is not gsm", "Código 123456", 1, encodingUCS2},
		{"160 gsm", rep("a", 160), 1, encodingGSM7},
		{"161 gsm", rep("a", 161), 2, encodingGSM7},
		{"306 gsm", rep("a", 306), 2, encodingGSM7},
		{"307 gsm", rep("a", 307), 3, encodingGSM7},
		{"80 euro signs are 160 septets", rep("€", 80), 1, encodingGSM7},
		{"81 euro signs", rep("€", 81), 2, encodingGSM7},
		{"extension chars count twice", rep("a", 157) + "[]", 2, encodingGSM7},
		{"159 plus one extension char", rep("a", 158) + "{", 1, encodingGSM7},
		// 152 + 2*77 = 306 septets would fit 2 parts if an escape pair
		// could be split; it cannot, so the last € starts a third part.
		{"escape pair never split", rep("a", 152) + rep("€", 77), 3, encodingGSM7},
		{"70 cyrillic", rep("ж", 70), 1, encodingUCS2},
		{"71 cyrillic", rep("ж", 71), 2, encodingUCS2},
		{"134 cyrillic", rep("ж", 134), 2, encodingUCS2},
		{"135 cyrillic", rep("ж", 135), 3, encodingUCS2},
		{"one non-gsm char switches all", rep("a", 69) + "ç", 1, encodingUCS2},
		{"71 with one non-gsm char", rep("a", 70) + "ç", 2, encodingUCS2},
		{"hindi", "आपका कोड 123456 है", 1, encodingUCS2},
		{"35 emoji are 70 units", rep("🔑", 35), 1, encodingUCS2},
		// 36 emoji = 72 units; a part holds 67 units, 33 whole emoji.
		{"36 emoji", rep("🔑", 36), 2, encodingUCS2},
		{"67 emoji", rep("🔑", 67), 3, encodingUCS2},
		{"escape char itself is not text", "\x1b", 1, encodingUCS2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, enc := segments(tt.body)
			assert.Equal(t, tt.n, n)
			assert.Equal(t, tt.encoding, enc)
		})
	}
}
