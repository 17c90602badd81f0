package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/redisstore"
)

const (
	tenantA = "tenant-a"
	tenantB = "tenant-b"
	phone   = "+919999999999"
)

// base is the handler's clock in these tests: years away from the Redis
// server's, to show that TTLs follow the challenge's lifetime, not the
// absolute instants.
var base = time.Date(2020, 2, 29, 12, 0, 0, 0, time.UTC)

func challenge(t testing.TB, tenant string, maxAttempts int) store.Challenge {
	return store.Challenge{
		TenantID:    tenant,
		Phone:       phone,
		CodeHash:    randomBytes(t, 32),
		CreatedAt:   base,
		ExpiresAt:   base.Add(5 * time.Minute),
		MaxAttempts: maxAttempts,
	}
}

func checkOf(c store.Challenge, hash []byte, now time.Time) store.CodeCheck {
	return store.CodeCheck{TenantID: c.TenantID, Phone: c.Phone, CodeHash: hash, Now: now}
}

// sentinels are every outcome a check may have; errIs reports which one err is.
var sentinels = []error{
	store.ErrNoChallenge, store.ErrChallengeUsed, store.ErrChallengeExpired,
	store.ErrTooManyAttempts, store.ErrCodeMismatch,
}

func TestChallengeOutcomes(t *testing.T) {
	t.Parallel()
	type step struct {
		op    string              // "verify" or "consume"
		right bool                // the right code, or a wrong one
		hash  func([]byte) []byte // overrides right: derive the presented hash from the stored one
		at    time.Duration       // Now, after CreatedAt
		want  error
	}
	wrongLen := func(n int) func([]byte) []byte {
		return func(h []byte) []byte {
			if n < len(h) {
				return append([]byte(nil), h[:n]...)
			}
			return append(append([]byte(nil), h...), make([]byte, n-len(h))...)
		}
	}
	tests := []struct {
		name        string
		maxAttempts int
		steps       []step
	}{
		{"verify does not consume, consume is single use", 5, []step{
			{op: "verify", right: true, at: time.Minute},
			{op: "verify", right: true, at: 2 * time.Minute},
			{op: "consume", right: true, at: 3 * time.Minute},
			{op: "consume", right: true, at: 3 * time.Minute, want: store.ErrChallengeUsed},
			{op: "verify", right: true, at: 3 * time.Minute, want: store.ErrChallengeUsed},
			// Only the used code is told so; any other code is wrong
			// (otpreset counts it as a guess).
			{op: "verify", right: false, at: 3 * time.Minute, want: store.ErrCodeMismatch},
			{op: "consume", right: false, at: 3 * time.Minute, want: store.ErrCodeMismatch},
			{op: "verify", hash: wrongLen(31), at: 3 * time.Minute, want: store.ErrCodeMismatch},
			{op: "verify", hash: wrongLen(33), at: 3 * time.Minute, want: store.ErrCodeMismatch},
			{op: "verify", right: true, at: 3 * time.Minute, want: store.ErrChallengeUsed},
		}},
		{"wrong tries below the limit leave the code usable", 3, []step{
			{op: "verify", at: time.Second, want: store.ErrCodeMismatch},
			{op: "consume", at: time.Second, want: store.ErrCodeMismatch},
			{op: "consume", right: true, at: time.Second},
		}},
		{"the limit locks the code, even for the right value", 3, []step{
			{op: "verify", at: time.Second, want: store.ErrCodeMismatch},
			{op: "verify", at: time.Second, want: store.ErrCodeMismatch},
			{op: "consume", at: time.Second, want: store.ErrCodeMismatch},
			{op: "verify", at: time.Second, want: store.ErrTooManyAttempts},
			{op: "verify", right: true, at: time.Second, want: store.ErrTooManyAttempts},
			{op: "consume", right: true, at: time.Second, want: store.ErrTooManyAttempts},
		}},
		{"expiry is decided by Now, to the nanosecond", 5, []step{
			{op: "verify", right: true, at: 5*time.Minute - time.Nanosecond},
			{op: "verify", right: true, at: 5 * time.Minute, want: store.ErrChallengeExpired},
			{op: "consume", right: true, at: time.Hour, want: store.ErrChallengeExpired},
			{op: "consume", right: true, at: 5*time.Minute - time.Nanosecond},
		}},
		{"tries on an expired code are not counted", 1, []step{
			{op: "verify", at: 6 * time.Minute, want: store.ErrChallengeExpired},
			{op: "verify", at: 7 * time.Minute, want: store.ErrChallengeExpired},
			{op: "consume", right: true, at: 4 * time.Minute},
		}},
		{"used is reported before expired", 5, []step{
			{op: "consume", right: true, at: time.Minute},
			{op: "verify", right: true, at: 10 * time.Minute, want: store.ErrChallengeUsed},
			{op: "verify", at: 10 * time.Minute, want: store.ErrCodeMismatch},
		}},
		{"no tries allowed", 0, []step{
			{op: "verify", right: true, at: time.Second, want: store.ErrTooManyAttempts},
		}},
		{"a prefix or an extension of the hash does not match", 5, []step{
			{op: "verify", hash: wrongLen(16), at: time.Second, want: store.ErrCodeMismatch},
			{op: "verify", hash: wrongLen(33), at: time.Second, want: store.ErrCodeMismatch},
			{op: "verify", hash: wrongLen(0), at: time.Second, want: store.ErrCodeMismatch},
			{op: "verify", right: true, at: time.Second},
		}},
	}
	s, _, _ := newStore(t, redisstore.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			// Each case on its own tenant, so they cannot interfere.
			c := challenge(t, tenantA+"/"+tt.name, tt.maxAttempts)
			require.NoError(t, s.SaveChallenge(ctx, c))
			wrong := randomBytes(t, 32)
			for i, st := range tt.steps {
				hash := wrong
				switch {
				case st.hash != nil:
					hash = st.hash(c.CodeHash)
				case st.right:
					hash = c.CodeHash
				}
				op := s.VerifyChallenge
				if st.op == "consume" {
					op = s.ConsumeChallenge
				}
				err := op(ctx, checkOf(c, hash, base.Add(st.at)))
				if st.want == nil {
					require.NoErrorf(t, err, "step %d (%s)", i, st.op)
					continue
				}
				require.ErrorIsf(t, err, st.want, "step %d (%s)", i, st.op)
				for _, other := range sentinels {
					if other != st.want {
						require.Falsef(t, errors.Is(err, other), "step %d: %v also matches %v", i, err, other)
					}
				}
			}
		})
	}
}

func TestNoChallenge(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, redisstore.Config{})
	ctx := context.Background()
	c := challenge(t, tenantA, 5)
	for _, op := range []func(context.Context, store.CodeCheck) error{s.VerifyChallenge, s.ConsumeChallenge} {
		require.ErrorIs(t, op(ctx, checkOf(c, c.CodeHash, base)), store.ErrNoChallenge)
	}
}

func TestSaveChallengeReplaces(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, redisstore.Config{})
	ctx := context.Background()
	first := challenge(t, tenantA, 2)
	require.NoError(t, s.SaveChallenge(ctx, first))
	require.ErrorIs(t, s.VerifyChallenge(ctx, checkOf(first, randomBytes(t, 32), base)), store.ErrCodeMismatch)
	require.ErrorIs(t, s.VerifyChallenge(ctx, checkOf(first, randomBytes(t, 32), base)), store.ErrCodeMismatch)
	require.ErrorIs(t, s.VerifyChallenge(ctx, checkOf(first, first.CodeHash, base)), store.ErrTooManyAttempts)

	// A new code: fresh attempts, and the old code no longer matches.
	second := challenge(t, tenantA, 2)
	require.NoError(t, s.SaveChallenge(ctx, second))
	require.ErrorIs(t, s.VerifyChallenge(ctx, checkOf(second, first.CodeHash, base)), store.ErrCodeMismatch)
	require.NoError(t, s.ConsumeChallenge(ctx, checkOf(second, second.CodeHash, base)))

	// Replacing a used code makes the new one usable.
	third := challenge(t, tenantA, 2)
	require.NoError(t, s.SaveChallenge(ctx, third))
	require.NoError(t, s.ConsumeChallenge(ctx, checkOf(third, third.CodeHash, base)))
}

// TestConcurrentConsumeSingleUse races 200 consumers with the right code,
// through two Stores with their own connection pools (two servers): exactly
// one wins.
func TestConcurrentConsumeSingleUse(t *testing.T) {
	t.Parallel()
	s1, _, prefix := newStore(t, redisstore.Config{})
	s2, err := redisstore.New(newClient(t), redisstore.Config{Prefix: prefix})
	require.NoError(t, err)
	ctx := context.Background()
	c := challenge(t, tenantA, 5)
	require.NoError(t, s1.SaveChallenge(ctx, c))

	const callers = 200
	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		st := s1
		if i%2 == 1 {
			st = s2
		}
		wg.Go(func() {
			<-start
			errs[i] = st.ConsumeChallenge(ctx, checkOf(c, c.CodeHash, base.Add(time.Minute)))
		})
	}
	close(start)
	wg.Wait()

	wins, used := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrChallengeUsed):
			used++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	assert.Equal(t, 1, wins, "callers that consumed the code")
	assert.Equal(t, callers-1, used, "callers told the code was used")
}

// TestConcurrentWrongTries: of 200 concurrent wrong tries on a code allowing
// 50, exactly 50 are counted as mismatches and the rest find it locked.
func TestConcurrentWrongTries(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, redisstore.Config{})
	ctx := context.Background()
	const maxAttempts, callers = 50, 200
	c := challenge(t, tenantA, maxAttempts)
	require.NoError(t, s.SaveChallenge(ctx, c))

	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			errs[i] = s.VerifyChallenge(ctx, checkOf(c, randomBytes(t, 32), base))
		})
	}
	close(start)
	wg.Wait()

	mismatch, locked := 0, 0
	for _, err := range errs {
		switch {
		case errors.Is(err, store.ErrCodeMismatch):
			mismatch++
		case errors.Is(err, store.ErrTooManyAttempts):
			locked++
		default:
			t.Errorf("unexpected outcome: %v", err)
		}
	}
	assert.Equal(t, maxAttempts, mismatch)
	assert.Equal(t, callers-maxAttempts, locked)
	require.ErrorIs(t, s.VerifyChallenge(ctx, checkOf(c, c.CodeHash, base)), store.ErrTooManyAttempts)
}

func TestChallengeTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		retention time.Duration
		wantTTL   time.Duration // lifetime (5 min) plus retention
	}{
		{"default retention", 0, 5*time.Minute + redisstore.DefaultRetention},
		{"custom retention", time.Hour, 5*time.Minute + time.Hour},
		{"no retention", -1, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, client, prefix := newStore(t, redisstore.Config{Retention: tt.retention})
			ctx := context.Background()
			c := challenge(t, tenantA, 5)
			require.NoError(t, s.SaveChallenge(ctx, c))
			key := prefix + "{" + tenantA + "}:code:" + phone
			ttl, err := client.PTTL(ctx, key).Result()
			require.NoError(t, err)
			assert.LessOrEqual(t, ttl, tt.wantTTL)
			assert.Greater(t, ttl, tt.wantTTL-5*time.Second, "TTL of %s", key)

			// Counting a try or consuming keeps the TTL.
			require.ErrorIs(t, s.VerifyChallenge(ctx, checkOf(c, nil, base)), store.ErrCodeMismatch)
			require.NoError(t, s.ConsumeChallenge(ctx, checkOf(c, c.CodeHash, base)))
			after, err := client.PTTL(ctx, key).Result()
			require.NoError(t, err)
			assert.LessOrEqual(t, after, ttl)
			assert.Greater(t, after, tt.wantTTL-5*time.Second)
		})
	}
}

// TestChallengePurgedByRedis: once Redis has expired the key, the code is
// simply gone (ErrNoChallenge, LoginRadius's "cannot be accessed").
func TestChallengePurgedByRedis(t *testing.T) {
	t.Parallel()
	s, client, prefix := newStore(t, redisstore.Config{Retention: -1})
	ctx := context.Background()
	c := challenge(t, tenantA, 5)
	c.ExpiresAt = c.CreatedAt.Add(30 * time.Millisecond)
	require.NoError(t, s.SaveChallenge(ctx, c))
	key := prefix + "{" + tenantA + "}:code:" + phone
	require.Eventually(t, func() bool {
		return client.Exists(ctx, key).Val() == 0
	}, 5*time.Second, 10*time.Millisecond, "Redis should expire %s", key)
	require.ErrorIs(t, s.VerifyChallenge(ctx, checkOf(c, c.CodeHash, c.CreatedAt)), store.ErrNoChallenge)
}

func TestChallengeTenantIsolation(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, redisstore.Config{})
	ctx := context.Background()
	a := challenge(t, tenantA, 1)
	b := challenge(t, tenantB, 1)
	require.NoError(t, s.SaveChallenge(ctx, a))

	// Tenant B has no code for the same phone, and A's code is not B's.
	require.ErrorIs(t, s.VerifyChallenge(ctx, checkOf(b, a.CodeHash, base)), store.ErrNoChallenge)
	require.NoError(t, s.SaveChallenge(ctx, b))
	require.ErrorIs(t, s.ConsumeChallenge(ctx, checkOf(b, a.CodeHash, base)), store.ErrCodeMismatch)
	// B's wrong try locked B's code, not A's; consuming A leaves B as it was.
	require.ErrorIs(t, s.VerifyChallenge(ctx, checkOf(b, b.CodeHash, base)), store.ErrTooManyAttempts)
	require.NoError(t, s.ConsumeChallenge(ctx, checkOf(a, a.CodeHash, base)))
	require.ErrorIs(t, s.VerifyChallenge(ctx, checkOf(b, b.CodeHash, base)), store.ErrTooManyAttempts)
	// Replacing A's code does not touch B's either.
	require.NoError(t, s.SaveChallenge(ctx, a))
	require.ErrorIs(t, s.VerifyChallenge(ctx, checkOf(b, b.CodeHash, base)), store.ErrTooManyAttempts)
}

// TestBinarySafeHashes: hashes with NUL bytes, bytes that are not UTF-8 and
// Lua's pattern characters are stored and compared as bytes.
func TestBinarySafeHashes(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, redisstore.Config{})
	ctx := context.Background()
	hashes := map[string][]byte{
		"nul bytes":   {0, 0, 0, 1, 0, 0, 0},
		"not utf-8":   {0xff, 0xfe, 0xc3, 0x28, 0x80},
		"lua pattern": []byte("%a.*[^]$"),
		"one bit off": {0x80, 0, 0, 0},
	}
	for name, h := range hashes {
		c := challenge(t, tenantA+"-"+name, 2)
		c.CodeHash = h
		require.NoError(t, s.SaveChallenge(ctx, c), name)
		flipped := append([]byte(nil), h...)
		flipped[0] ^= 0x01
		require.ErrorIs(t, s.VerifyChallenge(ctx, checkOf(c, flipped, base)), store.ErrCodeMismatch, name)
		require.NoError(t, s.ConsumeChallenge(ctx, checkOf(c, h, base)), name)
	}
}

// TestNowZeroUsesClock: a check without Now is decided by Config.Now.
func TestNowZeroUsesClock(t *testing.T) {
	t.Parallel()
	clock := base.Add(6 * time.Minute)
	s, _, _ := newStore(t, redisstore.Config{Now: func() time.Time { return clock }})
	ctx := context.Background()
	c := challenge(t, tenantA, 5)
	require.NoError(t, s.SaveChallenge(ctx, c))
	require.ErrorIs(t, s.VerifyChallenge(ctx, checkOf(c, c.CodeHash, time.Time{})), store.ErrChallengeExpired)
	require.NoError(t, s.VerifyChallenge(ctx, checkOf(c, c.CodeHash, base)))
}
