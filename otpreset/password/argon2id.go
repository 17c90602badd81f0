package password

import (
	"context"
	"fmt"
	"runtime"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"go.opentelemetry.io/otel/trace"
)

// DefaultArgon2idParams returns OWASP's recommended argon2id parameters
// (m=19 MiB, t=2, p=1, 16-byte salt, 32-byte key). It returns a copy, so no
// caller can change another's defaults.
func DefaultArgon2idParams() argon2id.Params {
	return argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

// Argon2idHasher hashes with argon2id and runs at most a fixed number of
// hashes (and compares) at once, so memory stays at concurrency x
// Params.Memory whatever the load: extra requests wait their turn (or give
// up when their context ends). It is otpreset's default PasswordHasher.
type Argon2idHasher struct {
	params argon2id.Params
	sem    chan struct{}
}

// NewArgon2idHasher returns a hasher; nil params means
// DefaultArgon2idParams() and concurrency < 1 means GOMAXPROCS.
func NewArgon2idHasher(params *argon2id.Params, concurrency int) *Argon2idHasher {
	p := DefaultArgon2idParams()
	if params != nil {
		p = *params
	}
	if concurrency < 1 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	return &Argon2idHasher{params: p, sem: make(chan struct{}, concurrency)}
}

// acquire waits for a hashing slot. When the caller traces (an OpenTelemetry
// span in ctx), the wait is a span of its own, so a saturated pool shows.
func (h *Argon2idHasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}: // a free slot: no wait to show
		return nil
	default:
	}
	if parent := trace.SpanFromContext(ctx); parent.IsRecording() {
		_, span := parent.TracerProvider().Tracer(tracerName).Start(ctx, "argon2id.wait for a hashing slot")
		defer span.End()
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password: waiting to hash: %w", ctx.Err())
	}
}

// tracerName is the instrumentation scope of the hasher's spans.
const tracerName = "github.com/otpreset/go/otpreset/password"

// Hash returns the PHC-format argon2id hash of pw, which must already be
// normalised (Policy.Check returns it so).
func (h *Argon2idHasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-h.sem }()
	return argon2id.CreateHash(pw, &h.params)
}

// Compare reports whether pw (already normalised) matches hash.
func (h *Argon2idHasher) Compare(ctx context.Context, pw, hash string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-h.sem }()
	return argon2id.ComparePasswordAndHash(pw, hash)
}

// Verify is the one call a host's login makes to check a typed password
// against a hash otpreset stored. It refuses invalid UTF-8 (as a reset does)
// and applies the same normalisation (Normalize, NFKC) before comparing, so a
// password set by a reset always logs in there. Like Hash, it waits for a
// hashing slot, so a flood of logins cannot exhaust memory.
func (h *Argon2idHasher) Verify(ctx context.Context, pw, hash string) (bool, error) {
	if !utf8.ValidString(pw) {
		return false, nil
	}
	return h.Compare(ctx, Normalize(pw), hash)
}
