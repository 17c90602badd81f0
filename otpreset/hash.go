package otpreset

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/google/uuid"
	"github.com/otpreset/go/store"
)

// PasswordHasher turns a new password into a stored hash.
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	// Compare reports whether password matches hash.
	Compare(ctx context.Context, password, hash string) (bool, error)
}

// DefaultArgon2idParams are OWASP's recommended argon2id parameters
// (m=19 MiB, t=2, p=1).
var DefaultArgon2idParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Argon2idHasher hashes with argon2id and runs at most a fixed number of
// hashes (and compares) at once, so memory stays at concurrency x
// Params.Memory whatever the load: extra requests wait their turn (or give
// up when their context ends).
type Argon2idHasher struct {
	Params *argon2id.Params
	sem    chan struct{}
}

// NewArgon2idHasher returns a hasher; nil params means DefaultArgon2idParams
// and concurrency < 1 means GOMAXPROCS.
func NewArgon2idHasher(params *argon2id.Params, concurrency int) *Argon2idHasher {
	if params == nil {
		params = DefaultArgon2idParams
	}
	if concurrency < 1 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	return &Argon2idHasher{Params: params, sem: make(chan struct{}, concurrency)}
}

func (h *Argon2idHasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("otpreset: waiting to hash: %w", ctx.Err())
	}
}

// Hash implements PasswordHasher.
func (h *Argon2idHasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-h.sem }()
	return argon2id.CreateHash(password, h.Params)
}

// Compare implements PasswordHasher.
func (h *Argon2idHasher) Compare(ctx context.Context, password, hash string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-h.sem }()
	return argon2id.ComparePasswordAndHash(password, hash)
}

// Tokens are the credentials of a new session.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
}

// TokenIssuer issues the session a successful reset answers with.
type TokenIssuer interface {
	Issue(ctx context.Context, t *Tenant, u store.User, now time.Time) (Tokens, error)
}

// RandomTokens issues opaque random tokens in LoginRadius's UUID form. The
// store keeps only their SHA-256 (see SessionFor), so a database leak does not
// leak sessions.
type RandomTokens struct {
	Rand io.Reader // default crypto/rand
}

// Issue implements TokenIssuer.
func (rt RandomTokens) Issue(_ context.Context, t *Tenant, _ store.User, now time.Time) (Tokens, error) {
	r := rt.Rand
	if r == nil {
		r = rand.Reader
	}
	a, err := uuid.NewRandomFromReader(r)
	if err != nil {
		return Tokens{}, fmt.Errorf("otpreset: token: %w", err)
	}
	b, err := uuid.NewRandomFromReader(r)
	if err != nil {
		return Tokens{}, fmt.Errorf("otpreset: token: %w", err)
	}
	life := t.SessionLifetime
	if life <= 0 {
		life = DefaultSessionLifetime
	}
	return Tokens{AccessToken: a.String(), RefreshToken: b.String(), ExpiresAt: now.Add(life).UTC().Truncate(time.Second)}, nil
}

// TokenHash is how a token is stored and looked up: SHA-256.
func TokenHash(token string) []byte {
	s := sha256.Sum256([]byte(token))
	return s[:]
}

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
