package storetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
)

// guessPolicy is a short ladder so the tests see escalation and the cap:
// lockouts of 15m, 30m, 1h, then 1h again.
var guessPolicy = store.GuessPolicy{Attempts: 3, Lockout: 15 * time.Minute, MaxLockout: time.Hour, Retain: 30 * 24 * time.Hour}

// runGuesses is the conformance suite of store.Guesses, for stores that keep
// the guessing budget.
func (h harness) runGuesses(t *testing.T) {
	if _, ok := store.GuessesOf(h.newStore(t)); !ok {
		t.Skip("store does not keep a guessing budget (store.Guesses)")
	}
	t.Run("LadderEscalates", h.testGuessLadder)
	t.Run("ReturnLiftsItsLockout", h.testGuessReturn)
	t.Run("PastLockWithCaptcha", h.testGuessPastLock)
	t.Run("KeysIsolated", h.testGuessKeys)
	t.Run("ClearAndRetain", h.testGuessClear)
	t.Run("ConcurrentTakesNeverExceedTheBudget", h.testGuessConcurrent)
	t.Run("ResetClearsInItsOwnStep", h.testResetClearsGuesses)
}

func (h harness) guesses(t *testing.T) (store.Guesses, time.Time) {
	s, now := h.fresh(t)
	g, _ := store.GuessesOf(s)
	return g, now
}

func uniqueKey(t *testing.T) store.GuessKey {
	b := randomBytes(t, 4)
	n := (int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])) % 100000000
	return store.GuessKey{TenantID: "tenant-a", Phone: fmt.Sprintf("+9199%08d", n)}
}

func take(t *testing.T, g store.Guesses, k store.GuessKey, now time.Time, pastLock bool) store.Guess {
	t.Helper()
	got, err := g.TakeGuess(ctxOf(t), k, now, guessPolicy, pastLock)
	require.NoError(t, err)
	return got
}

// Every Attempts guesses start a lockout; each next one lasts twice as long
// up to MaxLockout; a locked key refuses without counting; the count
// survives lockouts and is never reset by time alone within Retain.
func (h harness) testGuessLadder(t *testing.T) {
	g, now := h.guesses(t)
	k := uniqueKey(t)
	for round, length := range []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, time.Hour} {
		for i := 1; i <= guessPolicy.Attempts; i++ {
			got := take(t, g, k, now, false)
			require.True(t, got.Allowed, "round %d guess %d", round, i)
			assert.Equal(t, round*guessPolicy.Attempts+i, got.Failures)
			if i < guessPolicy.Attempts {
				assert.False(t, got.StartedLockout)
				continue
			}
			assert.True(t, got.StartedLockout)
			assert.Equal(t, round+1, got.Lockouts)
			assert.True(t, got.LockedUntil.Equal(now.Add(length)), "lockout %d lasts %v: until %v", round+1, length, got.LockedUntil)
		}
		locked := take(t, g, k, now.Add(length-time.Second), false)
		assert.False(t, locked.Allowed, "locked until the end of lockout %d", round+1)
		assert.Equal(t, (round+1)*guessPolicy.Attempts, locked.Failures, "a refused guess is not counted")
		peek, err := g.PeekGuesses(ctxOf(t), k, now.Add(length-time.Second))
		require.NoError(t, err)
		assert.False(t, peek.LockedUntil.IsZero(), "peek sees the lockout")
		now = now.Add(length)
		peek, err = g.PeekGuesses(ctxOf(t), k, now)
		require.NoError(t, err)
		assert.True(t, peek.LockedUntil.IsZero(), "the lockout has ended")
		assert.Equal(t, (round+1)*guessPolicy.Attempts, peek.Failures, "the count survives the lockout")
	}
}

// A guess given back is uncounted, and the lockout it started is lifted.
func (h harness) testGuessReturn(t *testing.T) {
	g, now := h.guesses(t)
	k := uniqueKey(t)
	take(t, g, k, now, false)
	second := take(t, g, k, now, false)
	require.NoError(t, g.ReturnGuess(ctxOf(t), k, second))
	peek, err := g.PeekGuesses(ctxOf(t), k, now)
	require.NoError(t, err)
	assert.Equal(t, 1, peek.Failures)

	take(t, g, k, now, false)
	third := take(t, g, k, now, false)
	require.True(t, third.StartedLockout)
	require.NoError(t, g.ReturnGuess(ctxOf(t), k, third))
	peek, err = g.PeekGuesses(ctxOf(t), k, now)
	require.NoError(t, err)
	assert.Equal(t, 2, peek.Failures)
	assert.Equal(t, 0, peek.Lockouts)
	assert.True(t, peek.LockedUntil.IsZero(), "the returned guess's lockout is lifted")
	assert.True(t, take(t, g, k, now, false).Allowed)
}

// pastLock (a verified captcha) lets a locked key's guess through, counted,
// and the ladder goes on.
func (h harness) testGuessPastLock(t *testing.T) {
	g, now := h.guesses(t)
	k := uniqueKey(t)
	for range guessPolicy.Attempts {
		take(t, g, k, now, false)
	}
	assert.False(t, take(t, g, k, now, false).Allowed)
	for i := range guessPolicy.Attempts {
		got := take(t, g, k, now, true)
		require.True(t, got.Allowed)
		assert.Equal(t, guessPolicy.Attempts+i+1, got.Failures)
	}
	peek, err := g.PeekGuesses(ctxOf(t), k, now)
	require.NoError(t, err)
	assert.Equal(t, 2, peek.Lockouts)
	assert.True(t, peek.LockedUntil.Equal(now.Add(30*time.Minute)))
}

// Tenants and phones count apart.
func (h harness) testGuessKeys(t *testing.T) {
	g, now := h.guesses(t)
	k := uniqueKey(t)
	other := store.GuessKey{TenantID: "tenant-b", Phone: k.Phone}
	otherPhone := store.GuessKey{TenantID: k.TenantID, Phone: k.Phone + "1"}
	for range guessPolicy.Attempts {
		take(t, g, k, now, false)
	}
	assert.False(t, take(t, g, k, now, false).Allowed)
	for _, o := range []store.GuessKey{other, otherPhone} {
		got := take(t, g, o, now, false)
		assert.True(t, got.Allowed, "%+v", o)
		assert.Equal(t, 1, got.Failures, "%+v", o)
	}
}

// Clear forgets everything (a success, an operator's unlock); a key unseen
// for Retain starts over.
func (h harness) testGuessClear(t *testing.T) {
	g, now := h.guesses(t)
	k := uniqueKey(t)
	for range guessPolicy.Attempts {
		take(t, g, k, now, false)
	}
	require.NoError(t, g.ClearGuesses(ctxOf(t), k))
	got := take(t, g, k, now, false)
	assert.True(t, got.Allowed)
	assert.Equal(t, 1, got.Failures)
	assert.Equal(t, 0, got.Lockouts)
	require.NoError(t, g.ClearGuesses(ctxOf(t), store.GuessKey{TenantID: "tenant-a", Phone: "+10000000000"}), "clearing an unknown key is fine")

	later := take(t, g, k, now.Add(guessPolicy.Retain+time.Minute), false)
	assert.Equal(t, 1, later.Failures, "forgotten after Retain without a guess")
}

// However many requests race, no more guesses are allowed than the budget:
// Attempts before the first lockout.
func (h harness) testGuessConcurrent(t *testing.T) {
	g, now := h.guesses(t)
	k := uniqueKey(t)
	var allowed atomic.Int32
	errs := concurrently(40, func(int) error {
		got, err := g.TakeGuess(ctxOf(t), k, now, guessPolicy, false)
		if got.Allowed {
			allowed.Add(1)
		}
		return err
	})
	require.NoError(t, errors.Join(errs...))
	assert.Equal(t, int32(guessPolicy.Attempts), allowed.Load())
	peek, err := g.PeekGuesses(ctxOf(t), k, now)
	require.NoError(t, err)
	assert.Equal(t, guessPolicy.Attempts, peek.Failures)
	assert.Equal(t, 1, peek.Lockouts)
}

// testUsedAnswersOnlyItsCode: after a success, the code that was used is
// told "already used" (a concurrent success, which otpreset does not count
// as a guess); any other code is simply wrong, so guesses against a used
// code are counted like any other.
func (h harness) testUsedAnswersOnlyItsCode(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	c := newChallenge(t, "tenant-a", "+919900000077", now, 5)
	require.NoError(t, s.SaveChallenge(ctx, c))
	require.NoError(t, s.ConsumeChallenge(ctx, check(c, c.CodeHash, now)))
	require.ErrorIs(t, s.VerifyChallenge(ctx, check(c, c.CodeHash, now)), store.ErrChallengeUsed)
	err := s.VerifyChallenge(ctx, check(c, randomBytes(t, 32), now))
	require.ErrorIs(t, err, store.ErrCodeMismatch)
	require.NotErrorIs(t, err, store.ErrChallengeUsed)
	require.ErrorIs(t, s.ConsumeChallenge(ctx, check(c, randomBytes(t, 32), now)), store.ErrCodeMismatch)
}

// testResetClearsGuesses: a Resetter that keeps the budget forgets it in
// the reset's own step when asked (store.Reset.ClearGuesses), and only when
// the reset succeeds.
func (h harness) testResetClearsGuesses(t *testing.T) {
	f := h.newResetFixture(t, 5)
	if _, ok := f.s.(store.Resetter); !ok {
		t.Skip("store does not implement store.Resetter")
	}
	if _, ok := f.s.(store.Guesses); !ok {
		t.Skip("store does not keep the guessing budget itself")
	}
	g := f.s.(store.Guesses)
	k := store.GuessKey{TenantID: f.user.TenantID, Phone: f.user.Phone}
	for range 2 {
		take(t, g, k, f.now, false)
	}
	bad := f.reset(t, randomBytes(t, 32))
	bad.ClearGuesses = true
	require.ErrorIs(t, resetter(t, f.s).Reset(ctxOf(t), bad), store.ErrCodeMismatch)
	peek, err := g.PeekGuesses(ctxOf(t), k, f.now)
	require.NoError(t, err)
	assert.Equal(t, 2, peek.Failures, "a failed reset clears nothing")

	good := f.reset(t, f.challenge.CodeHash)
	good.ClearGuesses = true
	require.NoError(t, resetter(t, f.s).Reset(ctxOf(t), good))
	peek, err = g.PeekGuesses(ctxOf(t), k, f.now)
	require.NoError(t, err)
	assert.Equal(t, 0, peek.Failures, "the reset forgot the budget")
}
