package sms

import "strings"

// The encodings of Rendered.Encoding.
const (
	encodingGSM7 = "GSM-7" // the GSM 03.38 default alphabet, 7 bits a character
	encodingUCS2 = "UCS-2" // 16 bits a character (UTF-16 on the wire)
)

// gsm7Basic is the GSM 03.38 default alphabet (the escape 0x1B excluded);
// each costs one septet.
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsm7Extension is the GSM 03.38 extension table; each costs two septets
// (the escape and the character).
const gsm7Extension = "\f^{}\\[~]|€"

// Segment sizes: one message alone, and each part of a concatenated one
// (the user data header takes 6 bytes).
const (
	gsm7Single, gsm7Part = 160, 153
	ucs2Single, ucs2Part = 70, 67
)

// segments reports how many SMS segments body takes and in which encoding:
// GSM-7 when every character is in the GSM 03.38 alphabet (extension
// characters such as € [ ] { } count twice), 160 characters alone or 153 per
// part; UCS-2 otherwise, 70 alone or 67 per part (a character outside the
// Basic Multilingual Plane, such as an emoji, counts twice). A character is
// never split between parts. An empty body takes 0 segments.
func segments(body string) (n int, encoding string) {
	encoding = encodingGSM7
	for _, r := range body {
		if !strings.ContainsRune(gsm7Basic, r) && !strings.ContainsRune(gsm7Extension, r) {
			encoding = encodingUCS2
			break
		}
	}
	single, part := gsm7Single, gsm7Part
	if encoding == encodingUCS2 {
		single, part = ucs2Single, ucs2Part
	}
	total := 0
	for _, r := range body {
		total += units(r, encoding)
	}
	switch {
	case total == 0:
		return 0, encoding
	case total <= single:
		return 1, encoding
	}
	n, used := 1, 0
	for _, r := range body {
		c := units(r, encoding)
		if used+c > part {
			n, used = n+1, 0
		}
		used += c
	}
	return n, encoding
}

// units is what r costs: septets in GSM-7, UTF-16 code units in UCS-2.
func units(r rune, encoding string) int {
	if encoding == encodingGSM7 {
		if strings.ContainsRune(gsm7Extension, r) {
			return 2
		}
		return 1
	}
	if r > 0xFFFF {
		return 2
	}
	return 1
}
