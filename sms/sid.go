package sms

import (
	"crypto/rand"
	"encoding/hex"
	"io"
)

// Twilio's SID prefixes for the resources a Receipt names.
const (
	sidPrefixAccount = "AC" // account
	sidPrefixMessage = "SM" // SMS message
	sidPrefixCall    = "CA" // voice call
)

// NewSid returns a Twilio-shaped id: prefix followed by 32 lower-case hex
// digits read from r (crypto/rand when r is nil, or when r fails), e.g.
// NewSid("SM", nil) = "SM3f0c...". Twilio's SIDs are 34 characters: a
// two-letter prefix and a 128-bit hex value.
func NewSid(prefix string, r io.Reader) string {
	var b [16]byte
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b[:]); err != nil {
		rand.Read(b[:]) // never fails (crypto/rand aborts the program instead)
	}
	return prefix + hex.EncodeToString(b[:])
}

// SidPrefix returns the prefix of the Sid a Twilio-shaped sender returns for
// a message: "CA" (a call) for a voice code, "SM" (a message) for a text.
func SidPrefix(voice bool) string {
	if voice {
		return sidPrefixCall
	}
	return sidPrefixMessage
}
