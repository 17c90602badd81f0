// Package scrub makes text that came from outside the library (the message
// of an error returned by a host's store, sender, captcha verifier, breach
// checker or hook) fit to leave the process in a log line or a trace: phone
// numbers masked, runs of digits that could be a code removed, things that
// look like tokens removed, control characters replaced and the length
// bounded.
//
// It works on the text alone, so it cannot know a secret that looks like
// prose: a password made of words, a short token, a code spelled out. Where
// the caller knows such a secret (the request's password), it removes it by
// value first (Text's secrets).
package scrub

import (
	"strings"
	"unicode/utf8"
)

// MaxLen bounds, in bytes, what Text returns.
const MaxLen = 512

// maxIn bounds how much of a text is scanned: past MaxLen of output the rest
// is dropped anyway, and an error message is never this long for a good
// reason.
const maxIn = 16 << 10

// Markers put in place of what was removed.
const (
	Redacted = "[redacted]" // a secret the caller named
	Token    = "[token]"    // a long mix of letters and digits
	Digits   = "[digits]"   // 4 digits or more that are not a phone number
)

// Error is Text(err.Error()), or "" for a nil err.
func Error(err error, secrets ...string) string {
	if err == nil {
		return ""
	}
	return Text(err.Error(), secrets...)
}

// Text returns s fit for a log line or a span:
//   - every occurrence of each secret of 4 bytes or more is replaced by
//     "[redacted]";
//   - a run of 16 or more letters, digits and "_-+/~" with both letters and
//     digits (or of 24 or more with both cases), such as a UUID, a hex or
//     base64 token or a JWT's part, becomes "[token]";
//   - a number, i.e. digits with at most two of " .-()" between them, that
//     starts with '+' and has 8 to 15 digits is a phone number and is masked
//     as MaskPhone does; any other number of 4 digits or more (a code, a
//     phone number written without '+', a code next to a phone number)
//     becomes "[digits]", but for a provider's error number of at most 5
//     digits right after "error " ("error 21211"), which is kept;
//   - control characters become spaces, invalid UTF-8 becomes U+FFFD;
//   - the result is cut to at most MaxLen bytes, ending in "…" when cut.
func Text(s string, secrets ...string) string {
	for _, secret := range secrets {
		if len(secret) >= 4 && strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, Redacted)
		}
	}
	cut := false
	if len(s) > maxIn {
		s, cut = s[:maxIn], true
		// Never end on part of a token or a number that was cut in two.
		if i := strings.LastIndexByte(s, ' '); i > 0 {
			s = s[:i]
		}
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = numbers(tokens(s))
	return bound(s, cut)
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isTokenByte(c byte) bool {
	return isDigit(c) || isLetter(c) || strings.IndexByte("_-+/~", c) >= 0
}

// looksLikeToken: long, and mixing what words do not mix.
func looksLikeToken(run string) bool {
	if len(run) < 16 {
		return false
	}
	var digit, upper, lower bool
	for i := 0; i < len(run); i++ {
		c := run[i]
		switch {
		case isDigit(c):
			digit = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		}
	}
	return digit && (upper || lower) || len(run) >= 24 && upper && lower
}

// tokens replaces every run of token bytes that looks like a token.
func tokens(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isTokenByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isTokenByte(s[j]) {
			j++
		}
		if looksLikeToken(s[i:j]) {
			if b.Cap() == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[last:i])
			b.WriteString(Token)
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isSeparator(c byte) bool { return strings.IndexByte(" .-()", c) >= 0 }

// numbers masks phone numbers and removes other numbers of 4 digits or more.
func numbers(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		start := i
		plus := s[i] == '+' && i+1 < len(s) && isDigit(s[i+1])
		if plus {
			i++
		}
		if !isDigit(s[i]) {
			i++
			continue
		}
		end, digits := i, 0
		for j := i; j < len(s); {
			if isDigit(s[j]) {
				digits++
				j++
				end = j
				continue
			}
			k := j
			for k < len(s) && k-j < 2 && isSeparator(s[k]) {
				k++
			}
			if k == j || k == len(s) || !isDigit(s[k]) {
				break
			}
			j = k
		}
		i = end
		var with string
		switch {
		case plus && digits >= 8 && digits <= 15:
			with = MaskPhone(s[start:end])
		case digits >= 4 && !(digits <= 5 && !plus && errorNumber(s[:start])):
			with = Digits
		default:
			continue
		}
		if b.Cap() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:start])
		b.WriteString(with)
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// Bound is s with control characters replaced and cut to MaxLen bytes, as
// Text does, and nothing else changed: for text of the library's own whose
// length a client may choose.
func Bound(s string) string {
	if len(s) > maxIn {
		s = s[:maxIn]
	}
	return bound(strings.ToValidUTF8(s, "\uFFFD"), false)
}

// errorNumber tells whether a number that follows before is a provider's
// error number ("error 21211", Twilio's form): kept, at most 5 digits, so
// that an operator can look it up. A code is never worded that way.
func errorNumber(before string) bool {
	for _, w := range []string{"error ", "error: ", "error="} {
		if len(before) >= len(w) && strings.EqualFold(before[len(before)-len(w):], w) {
			return true
		}
	}
	return false
}

// bound replaces control characters and cuts s to MaxLen bytes on a rune
// boundary, marking a cut (or an earlier one) with "…".
func bound(s string, cut bool) string {
	const ellipsis = "…"
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			clean = false
			break
		}
	}
	if !clean {
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return ' '
			}
			return r
		}, s)
	}
	if len(s) <= MaxLen && !cut {
		return s
	}
	n := min(len(s), MaxLen-len(ellipsis))
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + ellipsis
}
