// Package password holds otpreset's rules for a new password: the length
// policy (Policy, following NIST SP 800-63B) and the breached-password
// checkers (BreachChecker) that reject passwords known from breach corpora.
//
// # Policy
//
// The zero Policy is NIST SP 800-63B's recommendation: at least 8 and at most
// 128 characters, any Unicode, no composition rules (no "one digit, one
// symbol"), no truncation. Characters are Unicode code points, counted on the
// password as sent and again after NFKC normalisation (so U+FDFA, one code
// point that NFKC turns into 18, is one character, not 18); invalid UTF-8 is
// refused. Policy.Check returns the NFKC form: it is the string to hash and
// store, so that the same password typed with fullwidth letters, a ligature
// or a differently composed accent verifies the same way later. A host's
// login verifies with Argon2idHasher.Verify, which applies the same
// normalisation, so a password set by a reset always logs in there.
//
// A violation is a *ValidationError listing one Problem per broken rule, with
// messages fit to show to the user; it matches ErrPolicy and the specific
// sentinels (ErrTooShort, ErrTooLong, ErrContainsPhone, ErrInvalidEncoding)
// with errors.Is.
//
// # Breached passwords
//
// HIBP asks Have I Been Pwned's Pwned Passwords range API using its
// k-anonymity model: only the first 5 hexadecimal characters of the
// password's SHA-1 leave the process; the password and its full hash never
// do, and neither appears in logs or errors. Responses are requested padded
// ("Add-Padding: true") so their size does not reveal the range, and the
// padding entries (count 0) never count as a match. When the service cannot
// be asked, HIBP fails closed (an error wrapping ErrUnavailable) unless
// FailOpen is set.
//
// List is an offline checker over a local file of SHA-1 hashes (for example
// the downloadable Pwned Passwords "HASH:COUNT" format) or plain passwords,
// held in memory as sorted 20-byte digests.
//
// Any combines several checkers, for example a local List of
// service-specific words in front of HIBP.
package password
