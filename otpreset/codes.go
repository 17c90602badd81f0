package otpreset

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"sync"
)

// codeHasher computes the keyed hash a code is stored as: HMAC-SHA256
// under the server secret, over tenant, phone and code, so a hash copied to
// another row is useless. HMAC states are pooled: building one per request
// costs more than hashing the few bytes.
type codeHasher struct {
	pool sync.Pool
	// derivers key the derivation of codes from nonces with a key of its
	// own, drawn from the secret, so a code's hash and its derivation never
	// share a key.
	derivers sync.Pool
}

func newCodeHasher(secret []byte) *codeHasher {
	key := append([]byte(nil), secret...)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("otpreset: code derivation"))
	deriveKey := m.Sum(nil)
	return &codeHasher{
		pool:     sync.Pool{New: func() any { return &keyedState{mac: hmac.New(sha256.New, key)} }},
		derivers: sync.Pool{New: func() any { return &keyedState{mac: hmac.New(sha256.New, deriveKey)} }},
	}
}

// derive is the code of a challenge: n decimal digits of HMAC-SHA256 under
// the derivation key over tenant, phone and the challenge's nonce. The nonce
// is drawn from crypto/rand for each new code and stored with it, so the
// handler can send a live code again as it was, while the store holds
// nothing that gives the code without the secret (as with the code's hash,
// the secret and a row give it, by trying every code). The digits come from
// the first 8 bytes taken modulo 10^n: no code is likelier than another by
// more than 10^n / 2^64 (under 10^-9).
func (c *codeHasher) derive(tenantID, phone string, nonce []byte, n int) string {
	var sum [sha256.Size]byte
	v := binary.BigEndian.Uint64(keyedSum(&c.derivers, tenantID, phone, nonce, sum[:0]))
	out := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return string(out)
}

// newNonce draws a challenge's nonce.
func newNonce(r io.Reader) ([]byte, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("otpreset: random code: %w", err)
	}
	return b, nil
}

// sum appends to dst the hash of code: a dst with room for sha256.Size
// bytes takes it without allocating.
func (c *codeHasher) sum(dst []byte, tenantID, phone, code string) []byte {
	return keyedSum(&c.pool, tenantID, phone, []byte(code), dst)
}

// keyedState is a pooled HMAC state and the buffer its message is put
// together in: one Write of a buffer the state keeps, where a Write per part
// would make each part escape (an allocation per part and request).
type keyedState struct {
	mac hash.Hash
	buf []byte
}

// maxKeyedBuf bounds the buffer a pooled state keeps: a code is a client's
// string of any length up to the body limit.
const maxKeyedBuf = 256

// keyedSum appends to dst the HMAC, from one of pool's states, of tenant,
// phone and value: what a code's hash and its derivation both key on.
func keyedSum(pool *sync.Pool, tenantID, phone string, value, dst []byte) []byte {
	m := pool.Get().(*keyedState)
	b := append(m.buf[:0], tenantID...)
	b = append(b, 0)
	b = append(b, phone...)
	b = append(b, 0)
	b = append(b, value...)
	m.mac.Reset()
	m.mac.Write(b)
	out := m.mac.Sum(dst)
	if cap(b) > maxKeyedBuf {
		b = nil
	}
	m.buf = b
	pool.Put(m)
	return out
}
