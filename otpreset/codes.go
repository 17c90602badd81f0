package otpreset

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"sync"
)

// codeHasher computes the keyed hash a code is stored as: HMAC-SHA256
// under the server secret, over tenant, phone and code, so a hash copied to
// another row is useless. HMAC states are pooled: building one per request
// costs more than hashing the few bytes.
type codeHasher struct{ pool sync.Pool }

func newCodeHasher(secret []byte) *codeHasher {
	key := append([]byte(nil), secret...)
	return &codeHasher{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

func (c *codeHasher) sum(tenantID, phone, code string) []byte {
	m := c.pool.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(tenantID))
	m.Write([]byte{0})
	m.Write([]byte(phone))
	m.Write([]byte{0})
	m.Write([]byte(code))
	out := m.Sum(nil)
	c.pool.Put(m)
	return out
}

// newCode draws n uniformly random decimal digits from r (rejection
// sampling, so no digit is more likely than another).
func newCode(r io.Reader, n int) (string, error) {
	out := make([]byte, n)
	var buf [16]byte
	for i := 0; i < n; {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("otpreset: random code: %w", err)
		}
		for _, b := range buf {
			if b >= 250 { // 250 = 25*10: keep the draw uniform
				continue
			}
			out[i] = '0' + b%10
			i++
			if i == n {
				break
			}
		}
	}
	return string(out), nil
}
