package redisstore_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/internal/testsize"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/redisstore"
)

var defaultGuessPolicy = store.GuessPolicy{Attempts: 5, Lockout: 15 * time.Minute, MaxLockout: 24 * time.Hour, Retain: 30 * 24 * time.Hour}

// TestGuessesInComposite: a host that joins its users with redisstore can
// put the guessing budget in Redis too, and otpreset finds it there.
func TestGuessesInComposite(t *testing.T) {
	t.Parallel()
	rs, _, _ := newStore(t, redisstore.Config{})
	g, ok := store.GuessesOf(store.Composite{Users: memstore.New(), Challenges: rs, Sessions: rs, Guesses: rs})
	require.True(t, ok)
	assert.Same(t, rs, g)
}

// commandLog records the name of every command the client sends, and
// "pipeline" for a pipeline: one entry per round trip.
type commandLog struct {
	mu    sync.Mutex
	names []string
}

func (l *commandLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *commandLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		l.add(cmd.Name())
		return next(ctx, cmd)
	}
}

func (l *commandLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		l.add("pipeline")
		return next(ctx, cmds)
	}
}

func (l *commandLog) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names = append(l.names, strings.ToLower(name))
}

func (l *commandLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := l.names
	l.names = nil
	return names
}

// TestGuessRoundTrips pins one round trip per operation: TakeGuess (on
// every failed reset) and ReturnGuess are one EVALSHA once the script is
// loaded, PeekGuesses one HMGET, ClearGuesses one DEL.
func TestGuessRoundTrips(t *testing.T) {
	t.Parallel()
	client := newClient(t)
	prefix := testPrefix(t, client)
	log := &commandLog{}
	client.AddHook(log)
	s, err := redisstore.New(client, redisstore.Config{Prefix: prefix})
	require.NoError(t, err)
	ctx := context.Background()
	k := store.GuessKey{TenantID: tenantA, Phone: phone}

	// Warm up: on a Redis that never saw a script, EVALSHA is answered
	// NOSCRIPT and go-redis sends EVAL (which loads it).
	took, err := s.TakeGuess(ctx, k, base, defaultGuessPolicy, false)
	require.NoError(t, err)
	require.NoError(t, s.ReturnGuess(ctx, k, took))
	log.take()

	for range 3 {
		took, err = s.TakeGuess(ctx, k, base, defaultGuessPolicy, false)
		require.NoError(t, err)
		require.True(t, took.Allowed)
		assert.Equal(t, []string{"evalsha"}, log.take(), "TakeGuess")
	}
	require.NoError(t, s.ReturnGuess(ctx, k, took))
	assert.Equal(t, []string{"evalsha"}, log.take(), "ReturnGuess")
	_, err = s.PeekGuesses(ctx, k, base)
	require.NoError(t, err)
	assert.Equal(t, []string{"hmget"}, log.take(), "PeekGuesses")
	require.NoError(t, s.ClearGuesses(ctx, k))
	assert.Equal(t, []string{"del"}, log.take(), "ClearGuesses")
}

// TestGuessKey pins the key layout README describes, its TTL of Retain set
// again by every counted guess (and not by a refused one, which changes
// nothing), kept by ReturnGuess, and no TTL when Retain is zero.
func TestGuessKey(t *testing.T) {
	t.Parallel()
	s, client, prefix := newStore(t, redisstore.Config{})
	ctx := context.Background()
	p := store.GuessPolicy{Attempts: 2, Lockout: 15 * time.Minute, MaxLockout: time.Hour, Retain: 30 * 24 * time.Hour}
	k := store.GuessKey{TenantID: tenantA, Phone: phone}
	key := prefix + "{" + tenantA + "}:guess:" + phone
	ttl := func() time.Duration {
		t.Helper()
		d, err := client.PTTL(ctx, key).Result()
		require.NoError(t, err)
		return d
	}
	now := base.Add(123456789 * time.Nanosecond)

	_, err := s.TakeGuess(ctx, k, now, p, false)
	require.NoError(t, err)
	assert.InDelta(t, p.Retain, ttl(), float64(time.Minute))
	fields, err := client.HGetAll(ctx, key).Result()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"f": "1", "l": "0", "ss": "1582977600", "sn": "123456789", "rs": "2592000", "rn": "0",
	}, fields)

	require.NoError(t, client.PExpire(ctx, key, time.Minute).Err())
	got, err := s.TakeGuess(ctx, k, now, p, false)
	require.NoError(t, err)
	require.True(t, got.StartedLockout)
	assert.InDelta(t, p.Retain, ttl(), float64(time.Minute), "a counted guess sets the TTL again")
	fields, err = client.HGetAll(ctx, key).Result()
	require.NoError(t, err)
	assert.Equal(t, "1582978500", fields["us"], "locked until now + 15 minutes")
	assert.Equal(t, "123456789", fields["un"])

	require.NoError(t, client.PExpire(ctx, key, time.Minute).Err())
	refused, err := s.TakeGuess(ctx, k, now, p, false)
	require.NoError(t, err)
	require.False(t, refused.Allowed)
	assert.LessOrEqual(t, ttl(), time.Minute, "a refused guess changes nothing")
	require.NoError(t, s.ReturnGuess(ctx, k, got))
	assert.LessOrEqual(t, ttl(), time.Minute, "a returned guess keeps the TTL")
	assert.Positive(t, ttl())

	forever := p
	forever.Retain = 0
	_, err = s.TakeGuess(ctx, k, now, forever, false)
	require.NoError(t, err)
	assert.Equal(t, time.Duration(-1), ttl(), "Retain zero: no TTL")
	now = now.Add(15 * time.Minute) // past the lockout that guess started
	again, err := s.TakeGuess(ctx, k, now, p, false)
	require.NoError(t, err)
	require.True(t, again.Allowed)
	assert.InDelta(t, p.Retain, ttl(), float64(time.Minute))

	// Redis forgetting the key is a fresh start.
	require.NoError(t, client.Del(ctx, key).Err())
	fresh, err := s.TakeGuess(ctx, k, now, p, false)
	require.NoError(t, err)
	assert.Equal(t, 1, fresh.Failures)
}

// TestGuessesMatchMemstore plays random sequences of takes (with and
// without a captcha), returns, peeks and clears, on a fake clock with
// nanoseconds, against redisstore and memstore (whose steps are the
// reference, store.NextGuess and store.ReturnedGuess), and requires the
// same answer every time. The policies include odd ones: nanosecond
// durations, a ladder of 40 steps, durations beyond 2^53 ns (where a
// script computing in Lua's doubles would round), Attempts 1 and 0,
// MaxLockout below Lockout, Retain zero.
func TestGuessesMatchMemstore(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	policies := []store.GuessPolicy{
		defaultGuessPolicy,
		{Attempts: 2, Lockout: 333*time.Millisecond + time.Nanosecond, MaxLockout: 7*time.Hour + 999999999, Retain: time.Hour + 1},
		{Attempts: 3, Lockout: time.Nanosecond, MaxLockout: day, Retain: 30 * day},
		{Attempts: 1, Lockout: 50*day + 1, MaxLockout: 400*day + 7, Retain: 300*day + 3},
		{Attempts: 1, Lockout: 0, MaxLockout: time.Hour, Retain: 0},
		{Attempts: 0, Lockout: time.Minute, MaxLockout: time.Hour, Retain: time.Hour},
		{Attempts: 4, Lockout: 2 * time.Hour, MaxLockout: time.Hour, Retain: 3 * time.Hour},
	}
	s, _, _ := newStore(t, redisstore.Config{})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(14, 1))
	for pi, p := range policies {
		ref := &memstore.Guesses{}
		k := store.GuessKey{TenantID: tenantA, Phone: phone + string(rune('0'+pi))}
		now := base.Add(time.Duration(rng.Int64N(int64(time.Second))))
		var allowed []store.Guess // takes not yet returned
		for i := range testsize.Pick(100, 400) {
			switch r := rng.IntN(100); {
			case r < 45:
			case r < 70:
				now = now.Add(time.Duration(rng.Int64N(int64(time.Second))))
			case r < 92:
				now = now.Add(time.Duration(rng.Int64N(int64(2*p.MaxLockout) + 1)))
			default:
				now = now.Add(time.Duration(rng.Int64N(int64(p.Retain)*2 + 1)))
			}
			switch r := rng.IntN(100); {
			case r < 70:
				pastLock := rng.IntN(5) == 0
				want, err := ref.TakeGuess(ctx, k, now, p, pastLock)
				require.NoError(t, err)
				got, err := s.TakeGuess(ctx, k, now, p, pastLock)
				require.NoError(t, err)
				sameGuess(t, want, got, "policy %d step %d: take (pastLock %v) at %v", pi, i, pastLock, now)
				if got.Allowed {
					allowed = append(allowed, got)
				}
			case r < 80 && len(allowed) > 0:
				j := rng.IntN(len(allowed))
				took := allowed[j]
				allowed = append(allowed[:j], allowed[j+1:]...)
				require.NoError(t, ref.ReturnGuess(ctx, k, took))
				require.NoError(t, s.ReturnGuess(ctx, k, took))
			case r < 98:
				want, err := ref.PeekGuesses(ctx, k, now)
				require.NoError(t, err)
				got, err := s.PeekGuesses(ctx, k, now)
				require.NoError(t, err)
				sameGuess(t, want, got, "policy %d step %d: peek at %v", pi, i, now)
			default:
				require.NoError(t, ref.ClearGuesses(ctx, k))
				require.NoError(t, s.ClearGuesses(ctx, k))
				allowed = nil
			}
		}
	}
}

func sameGuess(t *testing.T, want, got store.Guess, msgAndArgs ...any) {
	t.Helper()
	require.Truef(t, want.LockedUntil.Equal(got.LockedUntil), "LockedUntil %v, want %v", got.LockedUntil, want.LockedUntil)
	want.LockedUntil, got.LockedUntil = time.Time{}, time.Time{}
	require.Equal(t, want, got, msgAndArgs...)
}
