package sms

import "strings"

// MaskPhone hides the middle of a phone number for logs: "+919999999999"
// becomes "+91******9999". Numbers of 8 digits or more keep their first two
// and last four digits, shorter ones only their last two (or none when 4
// digits or fewer). Anything but digits and a leading '+' is dropped, so the
// result never carries more of the number than that.
func MaskPhone(phone string) string {
	var digits []byte
	for i := 0; i < len(phone); i++ {
		if c := phone[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	var b strings.Builder
	if strings.HasPrefix(strings.TrimSpace(phone), "+") {
		b.WriteByte('+')
	}
	n := len(digits)
	var head, tail int
	switch {
	case n >= 8:
		head, tail = 2, 4
	case n > 4:
		tail = 2
	}
	b.Write(digits[:head])
	b.WriteString(strings.Repeat("*", n-head-tail))
	b.Write(digits[n-tail:])
	return b.String()
}
