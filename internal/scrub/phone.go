package scrub

import "strings"

// callingCodes are the assigned country calling codes (ITU-T E.164), the set
// github.com/nyaruka/phonenumbers knows (a test keeps them equal). They are
// prefix-free, so a number's code is the one of its first 1, 2 or 3 digits
// that is in the set.
const callingCodes = "1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 " +
	"60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 " +
	"211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 235 236 237 238 239 " +
	"240 241 242 243 244 245 246 247 248 249 250 251 252 253 254 255 256 257 258 260 261 262 263 264 265 " +
	"266 267 268 269 290 291 297 298 299 350 351 352 353 354 355 356 357 358 359 370 371 372 373 374 375 " +
	"376 377 378 380 381 382 383 385 386 387 389 420 421 423 500 501 502 503 504 505 506 507 508 509 590 " +
	"591 592 593 594 595 596 597 598 599 670 672 673 674 675 676 677 678 679 680 681 682 683 685 686 687 " +
	"688 689 690 691 692 800 808 850 852 853 855 856 870 878 880 881 882 883 886 888 960 961 962 963 964 " +
	"965 966 967 968 970 971 972 973 974 975 976 977 979 992 993 994 995 996 998"

// isCallingCode[n] tells whether n is an assigned calling code. Codes of
// different lengths never collide (no code starts with 0).
var isCallingCode = func() (set [1000]bool) {
	for _, f := range strings.Fields(callingCodes) {
		n := 0
		for i := 0; i < len(f); i++ {
			n = n*10 + int(f[i]-'0')
		}
		set[n] = true
	}
	return set
}()

// CallingCodes returns the assigned country calling codes, for the test
// that compares them with phonenumbers'.
func CallingCodes() []string { return strings.Fields(callingCodes) }

// callingCodeLen is the length of the calling code digits start with, or 0
// when they start with none.
func callingCodeLen(digits []byte) int {
	n := 0
	for i := 0; i < len(digits) && i < 3; i++ {
		n = n*10 + int(digits[i]-'0')
		if isCallingCode[n] {
			return i + 1
		}
	}
	return 0
}

// tailLen is how many of a national number's last digits a mask shows: 4
// of 10 or more, 3 of 8 or 9, 2 of 5 to 7, none of fewer. At least 3 (and
// more than half of a long number) stay hidden.
func tailLen(national int) int {
	switch {
	case national >= 10:
		return 4
	case national >= 8:
		return 3
	case national >= 5:
		return 2
	}
	return 0
}

// MaskPhone hides a phone number but for its country calling code (only
// when it starts with '+' and the code is an assigned one) and its last 2
// to 4 digits (see tailLen): "+919999999999" becomes "+91******9999",
// "+37212345" "+372***45". Anything but digits and a leading '+' is
// dropped, so the result never holds more of the number than that,
// whatever its length or format.
func MaskPhone(phone string) string {
	digits := make([]byte, 0, 16)
	for i := 0; i < len(phone); i++ {
		if c := phone[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	var b strings.Builder
	b.Grow(len(digits) + 1)
	head := 0
	if strings.HasPrefix(strings.TrimSpace(phone), "+") {
		b.WriteByte('+')
		head = callingCodeLen(digits)
	}
	n := len(digits)
	tail := tailLen(n - head)
	b.Write(digits[:head])
	for range n - head - tail {
		b.WriteByte('*')
	}
	b.Write(digits[n-tail:])
	return b.String()
}
