package password

import (
	"context"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var cheap = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// TestVerifyLogsInWhatAResetSet: a reset hashes the NFKC form Check returns;
// Verify normalises the same way, so the full-width password typed at login
// matches, as does its ASCII form, while a plain Compare of the typed form
// would not.
func TestVerifyLogsInWhatAResetSet(t *testing.T) {
	ctx := context.Background()
	h := NewArgon2idHasher(cheap, 1)
	typed := "ＳｔｒｏｎｇＰ＠ｓｓ"
	normalized, err := Policy{}.Check(typed, "")
	require.NoError(t, err)
	hash, err := h.Hash(ctx, normalized)
	require.NoError(t, err)

	for _, pw := range []string{typed, "StrongP@ss"} {
		ok, err := h.Verify(ctx, pw, hash)
		require.NoError(t, err)
		assert.True(t, ok, pw)
	}
	ok, err := h.Compare(ctx, typed, hash)
	require.NoError(t, err)
	assert.False(t, ok, "without normalising, the full-width form does not match")

	ok, err = h.Verify(ctx, "StrongP@sss", hash)
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = h.Verify(ctx, "StrongP@ss\xff", hash)
	require.NoError(t, err)
	assert.False(t, ok, "invalid UTF-8 never matches")
}

func TestDefaultArgon2idParamsIsACopy(t *testing.T) {
	p := DefaultArgon2idParams()
	p.Memory = 1
	assert.Equal(t, uint32(19*1024), DefaultArgon2idParams().Memory)
	assert.Equal(t, uint32(2), DefaultArgon2idParams().Iterations)
}

// TestHashSlotWaitIsTraced: when every hashing slot is taken, the wait is a
// span of its own under the caller's, so a saturated pool shows in traces.
func TestHashSlotWaitIsTraced(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	h := NewArgon2idHasher(cheap, 1)
	ctx, parent := tp.Tracer("test").Start(context.Background(), "reset")
	h.sem <- struct{}{} // the only slot is busy
	done := make(chan error)
	go func() {
		_, err := h.Hash(ctx, "a password")
		done <- err
	}()
	require.Eventually(t, func() bool { return len(h.sem) == 1 && parentHasWaiter(rec) }, 5*time.Second, time.Millisecond)
	<-h.sem // free the slot
	require.NoError(t, <-done)
	parent.End()
	var waits int
	for _, s := range rec.Ended() {
		if s.Name() == "argon2id.wait for a hashing slot" {
			waits++
			assert.Equal(t, parent.SpanContext().SpanID(), s.Parent().SpanID())
		}
	}
	assert.Equal(t, 1, waits)

	// A free slot is taken without a span.
	_, err := h.Hash(ctx, "a password")
	require.NoError(t, err)
	assert.Len(t, rec.Ended(), 2)
}

// parentHasWaiter reports whether a wait span has started (it is still
// open, so the recorder lists it among the started ones).
func parentHasWaiter(rec *tracetest.SpanRecorder) bool {
	for _, s := range rec.Started() {
		if s.Name() == "argon2id.wait for a hashing slot" {
			return true
		}
	}
	return false
}
