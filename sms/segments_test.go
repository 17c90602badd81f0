package sms_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/otpreset/go/sms"
)

func TestSegments(t *testing.T) {
	rep := strings.Repeat
	tests := []struct {
		name     string
		body     string
		n        int
		encoding string
	}{
		{"empty", "", 0, sms.EncodingGSM7},
		{"short", "123456 is your code", 1, sms.EncodingGSM7},
		{"gsm accents", "Gültig 5 Min. Ça expire à 12:00, señor. ¿ok? ÆØÅ é è ù ì ò", 1, sms.EncodingGSM7},
		{"o acute is not gsm", "Código 123456", 1, sms.EncodingUCS2},
		{"160 gsm", rep("a", 160), 1, sms.EncodingGSM7},
		{"161 gsm", rep("a", 161), 2, sms.EncodingGSM7},
		{"306 gsm", rep("a", 306), 2, sms.EncodingGSM7},
		{"307 gsm", rep("a", 307), 3, sms.EncodingGSM7},
		{"80 euro signs are 160 septets", rep("€", 80), 1, sms.EncodingGSM7},
		{"81 euro signs", rep("€", 81), 2, sms.EncodingGSM7},
		{"extension chars count twice", rep("a", 157) + "[]", 2, sms.EncodingGSM7},
		{"159 plus one extension char", rep("a", 158) + "{", 1, sms.EncodingGSM7},
		// 152 + 2*77 = 306 septets would fit 2 parts if an escape pair
		// could be split; it cannot, so the last € starts a third part.
		{"escape pair never split", rep("a", 152) + rep("€", 77), 3, sms.EncodingGSM7},
		{"70 cyrillic", rep("ж", 70), 1, sms.EncodingUCS2},
		{"71 cyrillic", rep("ж", 71), 2, sms.EncodingUCS2},
		{"134 cyrillic", rep("ж", 134), 2, sms.EncodingUCS2},
		{"135 cyrillic", rep("ж", 135), 3, sms.EncodingUCS2},
		{"one non-gsm char switches all", rep("a", 69) + "ç", 1, sms.EncodingUCS2},
		{"71 with one non-gsm char", rep("a", 70) + "ç", 2, sms.EncodingUCS2},
		{"hindi", "आपका कोड 123456 है", 1, sms.EncodingUCS2},
		{"35 emoji are 70 units", rep("🔑", 35), 1, sms.EncodingUCS2},
		// 36 emoji = 72 units; a part holds 67 units, 33 whole emoji.
		{"36 emoji", rep("🔑", 36), 2, sms.EncodingUCS2},
		{"67 emoji", rep("🔑", 67), 3, sms.EncodingUCS2},
		{"escape char itself is not text", "\x1b", 1, sms.EncodingUCS2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, enc := sms.Segments(tt.body)
			assert.Equal(t, tt.n, n)
			assert.Equal(t, tt.encoding, enc)
		})
	}
}
