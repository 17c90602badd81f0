package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

// testNetwork is the client network of the tests that are not about networks.
const testNetwork = "192.0.2.1"

// save issues c with no send limit and reports whether c was saved (false:
// the phone's live code was kept).
func save(t testing.TB, s *redisstore.Store, c store.Challenge) bool {
	t.Helper()
	issued, err := s.IssueChallenge(context.Background(), store.Issue{Challenge: c, Network: testNetwork})
	require.NoError(t, err)
	require.False(t, issued.Limited)
	return bytes.Equal(issued.Challenge.CodeHash, c.CodeHash) && issued.Challenge.CreatedAt.Equal(c.CreatedAt)
}

// verify compares check's code with no counter in the way (a zero policy:
// no lockout, no budget) and answers the comparison's outcome.
func verify(s *redisstore.Store, check store.CodeCheck) error {
	v, err := s.CheckCode(context.Background(), store.Attempt{Check: check, Network: testNetwork})
	if err != nil {
		return err
	}
	if v.Refused != store.NotRefused {
		return fmt.Errorf("refused (%d) by a zero policy", v.Refused)
	}
	if v.Counted != store.Counted(v.Code) {
		return fmt.Errorf("counted %v for outcome %v", v.Counted, v.Code)
	}
	return v.Code
}

// sentinels are every outcome a check may have; errIs reports which one err is.
var sentinels = []error{
	store.ErrNoChallenge, store.ErrChallengeUsed, store.ErrChallengeExpired,
	store.ErrTooManyAttempts, store.ErrCodeMismatch,
}

func TestChallengeOutcomes(t *testing.T) {
	t.Parallel()
	type step struct {
		op    string              // "verify" (CheckCode) or "consume"
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
			require.True(t, save(t, s, c))
			wrong := randomBytes(t, 32)
			for i, st := range tt.steps {
				hash := wrong
				switch {
				case st.hash != nil:
					hash = st.hash(c.CodeHash)
				case st.right:
					hash = c.CodeHash
				}
				var err error
				if st.op == "consume" {
					err = s.ConsumeChallenge(ctx, checkOf(c, hash, base.Add(st.at)))
				} else {
					err = verify(s, checkOf(c, hash, base.Add(st.at)))
				}
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
	require.ErrorIs(t, verify(s, checkOf(c, c.CodeHash, base)), store.ErrNoChallenge)
	require.ErrorIs(t, s.ConsumeChallenge(ctx, checkOf(c, c.CodeHash, base)), store.ErrNoChallenge)
}

// TestIssueKeepsLiveCode: a send while the phone holds a live code (unexpired,
// unused, with tries left) keeps that code and answers it, nonce included,
// so the handler re-sends the same code; a code that is no longer live is
// replaced, with fresh tries.
func TestIssueKeepsLiveCode(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, redisstore.Config{})
	ctx := context.Background()
	issue := func(c store.Challenge) store.Challenge {
		t.Helper()
		issued, err := s.IssueChallenge(ctx, store.Issue{Challenge: c, Network: testNetwork})
		require.NoError(t, err)
		return issued.Challenge
	}
	first := challenge(t, tenantA, 2)
	first.Nonce = randomBytes(t, 16)
	sameChallenge(t, first, issue(first), "a first code is saved")

	// Someone else's send a minute later keeps the first code.
	second := challenge(t, tenantA, 2)
	second.Nonce = randomBytes(t, 16)
	second.CreatedAt, second.ExpiresAt = base.Add(time.Minute), base.Add(6*time.Minute)
	sameChallenge(t, first, issue(second), "the live code is kept")
	require.ErrorIs(t, verify(s, checkOf(second, second.CodeHash, base.Add(time.Minute))), store.ErrCodeMismatch)
	// Out of tries: the next send replaces it.
	require.ErrorIs(t, verify(s, checkOf(first, randomBytes(t, 32), base.Add(time.Minute))), store.ErrCodeMismatch)
	require.ErrorIs(t, verify(s, checkOf(first, first.CodeHash, base.Add(time.Minute))), store.ErrTooManyAttempts)
	sameChallenge(t, second, issue(second), "a code out of tries is replaced")
	require.ErrorIs(t, verify(s, checkOf(second, first.CodeHash, base.Add(time.Minute))), store.ErrCodeMismatch)
	require.NoError(t, verify(s, checkOf(second, second.CodeHash, base.Add(time.Minute))), "fresh tries")

	// Used: replaced.
	require.NoError(t, s.ConsumeChallenge(ctx, checkOf(second, second.CodeHash, base.Add(time.Minute))))
	third := challenge(t, tenantA, 2)
	third.CreatedAt, third.ExpiresAt = base.Add(2*time.Minute), base.Add(7*time.Minute)
	sameChallenge(t, third, issue(third), "a used code is replaced")
	// Expired at its ExpiresAt, to the nanosecond: replaced.
	fourth := challenge(t, tenantA, 2)
	fourth.CreatedAt, fourth.ExpiresAt = third.ExpiresAt.Add(-time.Nanosecond), base.Add(time.Hour)
	sameChallenge(t, third, issue(fourth), "a code is live until its ExpiresAt")
	fourth.CreatedAt = third.ExpiresAt
	sameChallenge(t, fourth, issue(fourth), "an expired code is replaced")
	require.NoError(t, verify(s, checkOf(fourth, fourth.CodeHash, fourth.CreatedAt)))
}

func sameChallenge(t *testing.T, want, got store.Challenge, msg string) {
	t.Helper()
	require.Truef(t, want.CreatedAt.Equal(got.CreatedAt), "%s: CreatedAt %v, want %v", msg, got.CreatedAt, want.CreatedAt)
	require.Truef(t, want.ExpiresAt.Equal(got.ExpiresAt), "%s: ExpiresAt %v, want %v", msg, got.ExpiresAt, want.ExpiresAt)
	want.CreatedAt, want.ExpiresAt, got.CreatedAt, got.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	require.Equal(t, want, got, msg)
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
	require.True(t, save(t, s1, c))

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
// 50, with no counter in the way, exactly 50 are counted as mismatches and
// the rest find the code out of tries.
func TestConcurrentWrongTries(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, redisstore.Config{})
	const maxAttempts, callers = 50, 200
	c := challenge(t, tenantA, maxAttempts)
	require.True(t, save(t, s, c))

	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			errs[i] = verify(s, checkOf(c, randomBytes(t, 32), base))
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
	require.ErrorIs(t, verify(s, checkOf(c, c.CodeHash, base)), store.ErrTooManyAttempts)
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
			require.True(t, save(t, s, c))
			key := prefix + "{" + tenantA + ":" + phone + "}:code"
			ttl, err := client.PTTL(ctx, key).Result()
			require.NoError(t, err)
			assert.LessOrEqual(t, ttl, tt.wantTTL)
			assert.Greater(t, ttl, tt.wantTTL-5*time.Second, "TTL of %s", key)

			// Counting a try or consuming keeps the TTL.
			require.ErrorIs(t, verify(s, checkOf(c, nil, base)), store.ErrCodeMismatch)
			require.False(t, save(t, s, challenge(t, tenantA, 5)), "a live code is kept")
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
	require.True(t, save(t, s, c))
	key := prefix + "{" + tenantA + ":" + phone + "}:code"
	require.Eventually(t, func() bool {
		return client.Exists(ctx, key).Val() == 0
	}, 5*time.Second, 10*time.Millisecond, "Redis should expire %s", key)
	require.ErrorIs(t, verify(s, checkOf(c, c.CodeHash, c.CreatedAt)), store.ErrNoChallenge)
}

func TestChallengeTenantIsolation(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, redisstore.Config{})
	ctx := context.Background()
	a := challenge(t, tenantA, 1)
	b := challenge(t, tenantB, 1)
	require.True(t, save(t, s, a))

	// Tenant B has no code for the same phone, and A's code is not B's.
	require.ErrorIs(t, verify(s, checkOf(b, a.CodeHash, base)), store.ErrNoChallenge)
	require.True(t, save(t, s, b), "A's live code is not B's")
	require.ErrorIs(t, verify(s, checkOf(b, a.CodeHash, base)), store.ErrCodeMismatch)
	// B's wrong try used up B's code, not A's; consuming A leaves B as it was.
	require.ErrorIs(t, verify(s, checkOf(b, b.CodeHash, base)), store.ErrTooManyAttempts)
	require.NoError(t, s.ConsumeChallenge(ctx, checkOf(a, a.CodeHash, base)))
	require.ErrorIs(t, verify(s, checkOf(b, b.CodeHash, base)), store.ErrTooManyAttempts)
	// Replacing A's code does not touch B's either.
	require.True(t, save(t, s, a))
	require.ErrorIs(t, verify(s, checkOf(b, b.CodeHash, base)), store.ErrTooManyAttempts)
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
		c.Nonce = h
		require.True(t, save(t, s, c), name)
		issued, err := s.IssueChallenge(ctx, store.Issue{Challenge: challenge(t, c.TenantID, 2), Network: testNetwork})
		require.NoError(t, err, name)
		require.Equal(t, h, issued.Challenge.CodeHash, "%s: the kept code's hash", name)
		require.Equal(t, h, issued.Challenge.Nonce, "%s: the kept code's nonce", name)
		flipped := append([]byte(nil), h...)
		flipped[0] ^= 0x01
		require.ErrorIs(t, verify(s, checkOf(c, flipped, base)), store.ErrCodeMismatch, name)
		require.NoError(t, s.ConsumeChallenge(ctx, checkOf(c, h, base)), name)
	}
}

// TestNowZeroUsesClock: a check without Now, and a challenge without
// CreatedAt, are decided by Config.Now.
func TestNowZeroUsesClock(t *testing.T) {
	t.Parallel()
	clock := base.Add(6 * time.Minute)
	s, _, _ := newStore(t, redisstore.Config{Now: func() time.Time { return clock }})
	ctx := context.Background()
	c := challenge(t, tenantA, 5)
	require.True(t, save(t, s, c))
	require.ErrorIs(t, verify(s, checkOf(c, c.CodeHash, time.Time{})), store.ErrChallengeExpired)
	require.ErrorIs(t, s.ConsumeChallenge(ctx, checkOf(c, c.CodeHash, time.Time{})), store.ErrChallengeExpired)
	require.NoError(t, verify(s, checkOf(c, c.CodeHash, base)))

	// At the clock's 6 minutes the code above is expired, so a send
	// without CreatedAt replaces it, and is created at the clock's time.
	next := challenge(t, tenantA, 5)
	next.CreatedAt, next.ExpiresAt = time.Time{}, clock.Add(5*time.Minute)
	issued, err := s.IssueChallenge(ctx, store.Issue{Challenge: next, Network: testNetwork})
	require.NoError(t, err)
	require.Equal(t, next.CodeHash, issued.Challenge.CodeHash)
	require.True(t, clock.Equal(issued.Challenge.CreatedAt), "CreatedAt %v", issued.Challenge.CreatedAt)
}
