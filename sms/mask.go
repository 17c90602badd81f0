package sms

import "github.com/otpreset/go/internal/scrub"

// MaskPhone hides a phone number for logs. It never shows more than the
// country calling code (when the number starts with '+' and the code is an
// assigned one) and the last 2 to 4 digits: 4 of a national number of 10
// digits or more, 3 of 8 or 9, 2 of 5 to 7, none of a shorter one. So
// "+919999999999" becomes "+91******9999", "+14155552671" "+1******2671"
// and the 8-digit "+37212345" "+372***45". Anything but digits and a
// leading '+' is dropped, so the result never carries more of the number
// than that, whatever its length or format.
func MaskPhone(phone string) string { return scrub.MaskPhone(phone) }
