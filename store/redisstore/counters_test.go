package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/redisstore"
)

const day = 24 * time.Hour

// defaultPolicy is otpreset's at its defaults, with a budget.
var defaultPolicy = store.GuessPolicy{
	Attempts: 5, Lockout: 15 * time.Minute, MaxLockout: day, Retain: 30 * day,
	Budget: 300, BudgetBurst: 10, BudgetWindow: 30 * day,
}

// backends runs test on a single Redis and on the Redis Cluster (each
// skipped when its server is not configured, failed under CI).
func backends(t *testing.T, test func(t *testing.T, s *redisstore.Store, client redis.UniversalClient, prefix string)) {
	t.Run("single", func(t *testing.T) {
		t.Parallel()
		s, client, prefix := newStore(t, redisstore.Config{})
		test(t, s, client, prefix)
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		s, client, prefix := newClusterStore(t, redisstore.Config{})
		test(t, s, client, prefix)
	})
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

// TestRoundTrips pins one round trip per operation once the scripts are
// loaded: IssueChallenge (a send), CheckCode (every compared code) and
// ConsumeChallenge are one EVALSHA each, ClearCounters one DEL; so are the
// refusals.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	client := newClient(t)
	prefix := testPrefix(t, client)
	log := &commandLog{}
	client.AddHook(log)
	s, err := redisstore.New(client, redisstore.Config{Prefix: prefix})
	require.NoError(t, err)
	ctx := context.Background()
	c := challenge(t, tenantA, 5)
	iss := store.Issue{Challenge: c, Network: testNetwork, SendLimit: store.SendLimit{Limit: 2, Period: time.Hour}}
	p := defaultPolicy
	p.Attempts = 1
	attempt := func(hash []byte) store.Attempt {
		return store.Attempt{Check: checkOf(c, hash, base), Network: testNetwork, Policy: p}
	}

	// Warm up: on a Redis that never saw a script, EVALSHA is answered
	// NOSCRIPT and go-redis sends EVAL (which loads it).
	_, err = s.IssueChallenge(ctx, iss)
	require.NoError(t, err)
	_, err = s.CheckCode(ctx, attempt(c.CodeHash))
	require.NoError(t, err)
	require.ErrorIs(t, s.ConsumeChallenge(ctx, checkOf(c, nil, base)), store.ErrCodeMismatch)
	log.take()

	issued, err := s.IssueChallenge(ctx, iss)
	require.NoError(t, err)
	require.False(t, issued.Limited)
	assert.Equal(t, []string{"evalsha"}, log.take(), "IssueChallenge")
	issued, err = s.IssueChallenge(ctx, iss)
	require.NoError(t, err)
	require.True(t, issued.Limited)
	assert.Equal(t, []string{"evalsha"}, log.take(), "IssueChallenge, limited")
	v, err := s.CheckCode(ctx, attempt(randomBytes(t, 32)))
	require.NoError(t, err)
	require.True(t, v.StartedLockout, "%+v", v)
	assert.Equal(t, []string{"evalsha"}, log.take(), "CheckCode, a wrong code")
	v, err = s.CheckCode(ctx, attempt(c.CodeHash))
	require.NoError(t, err)
	require.Equal(t, store.RefusedLockout, v.Refused)
	assert.Equal(t, []string{"evalsha"}, log.take(), "CheckCode, refused")
	require.NoError(t, s.ClearCounters(ctx, tenantA, phone))
	assert.Equal(t, []string{"del"}, log.take(), "ClearCounters")
	v, err = s.CheckCode(ctx, attempt(c.CodeHash))
	require.NoError(t, err)
	require.NoError(t, v.Code)
	assert.Equal(t, []string{"evalsha"}, log.take(), "CheckCode, the right code")
	require.NoError(t, s.ConsumeChallenge(ctx, checkOf(c, c.CodeHash, base)))
	assert.Equal(t, []string{"evalsha"}, log.take(), "ConsumeChallenge")
}

// TestConcurrentWrongCodesOneNetwork: 40 wrong codes at once from one
// network, with a lockout every 5, through two Stores with their own
// connection pools (two servers): exactly 5 are compared, the other 35 are
// refused by the lockout the fifth started, and the phone's budget counted
// exactly 5.
func TestConcurrentWrongCodesOneNetwork(t *testing.T) {
	backends(t, func(t *testing.T, s1 *redisstore.Store, client redis.UniversalClient, prefix string) {
		s2, err := redisstore.New(client, redisstore.Config{Prefix: prefix})
		require.NoError(t, err)
		ctx := context.Background()
		c := challenge(t, tenantA, 1000)
		require.True(t, save(t, s1, c))
		p := defaultPolicy // a burst of 10: the budget refuses none of the 5

		verdicts := race(40, func(i int) store.Verdict {
			st := s1
			if i%2 == 1 {
				st = s2
			}
			v, err := st.CheckCode(ctx, store.Attempt{Check: checkOf(c, randomBytes(t, 32), base), Network: testNetwork, Policy: p})
			require.NoError(t, err)
			return v
		})
		compared, locked, started := 0, 0, 0
		for _, v := range verdicts {
			switch v.Refused {
			case store.NotRefused:
				compared++
				assert.ErrorIs(t, v.Code, store.ErrCodeMismatch)
				assert.True(t, v.Counted)
				if v.StartedLockout {
					started++
				}
			case store.RefusedLockout:
				locked++
				assert.True(t, v.Until.Equal(base.Add(15*time.Minute)), "until %v", v.Until)
				assert.Equal(t, 1, v.Lockouts)
			default:
				t.Errorf("unexpected verdict %+v", v)
			}
		}
		assert.Equal(t, 5, compared, "codes compared")
		assert.Equal(t, 35, locked, "attempts refused by the lockout")
		assert.Equal(t, 1, started, "lockouts started")

		// The budget counted 5: from other networks, 5 more (the burst of
		// 10) are compared and the next is refused by the budget.
		for i := range 6 {
			v, err := s1.CheckCode(ctx, store.Attempt{Check: checkOf(c, randomBytes(t, 32), base), Network: fmt.Sprintf("198.51.100.%d", i), Policy: p})
			require.NoError(t, err)
			want := store.NotRefused
			if i == 5 {
				want = store.RefusedBudget
			}
			require.Equal(t, want, v.Refused, "attempt %d from another network: %+v", i, v)
		}
	})
}

// TestConcurrentWrongCodesManyNetworks: 40 wrong codes at once from 40
// networks: the phone's budget, whose burst is 7, lets exactly 7 through.
func TestConcurrentWrongCodesManyNetworks(t *testing.T) {
	backends(t, func(t *testing.T, s *redisstore.Store, _ redis.UniversalClient, _ string) {
		ctx := context.Background()
		c := challenge(t, tenantA, 1000)
		require.True(t, save(t, s, c))
		p := defaultPolicy
		p.BudgetBurst = 7
		verdicts := race(40, func(i int) store.Verdict {
			v, err := s.CheckCode(ctx, store.Attempt{Check: checkOf(c, randomBytes(t, 32), base), Network: fmt.Sprintf("203.0.113.%d", i), Policy: p})
			require.NoError(t, err)
			return v
		})
		count := map[store.Refusal]int{}
		for _, v := range verdicts {
			count[v.Refused]++
		}
		assert.Equal(t, map[store.Refusal]int{store.NotRefused: 7, store.RefusedBudget: 33}, count)
	})
}

// TestConcurrentSends: 40 sends at once from one network with a limit of 3
// store or keep a code exactly 3 times; 40 sends at once from 40 networks,
// each with its own fresh code, all answer the same code, the one saved
// first, and that is the code Redis holds.
func TestConcurrentSends(t *testing.T) {
	backends(t, func(t *testing.T, s *redisstore.Store, _ redis.UniversalClient, _ string) {
		ctx := context.Background()
		limit := store.SendLimit{Limit: 3, Period: 15 * time.Minute}
		issued := race(40, func(int) store.Issued {
			got, err := s.IssueChallenge(ctx, store.Issue{Challenge: challenge(t, tenantA, 5), Network: testNetwork, SendLimit: limit})
			require.NoError(t, err)
			return got
		})
		sent, left := 0, map[int]bool{}
		for _, got := range issued {
			if !got.Limited {
				sent++
				left[got.SendsLeft] = true
			}
		}
		assert.Equal(t, 3, sent, "sends let through")
		assert.Equal(t, map[int]bool{0: true, 1: true, 2: true}, left, "sends left, one each")

		codes := map[string]int{}
		issued = race(40, func(i int) store.Issued {
			c := challenge(t, tenantB, 5)
			c.Nonce = randomBytes(t, 16)
			got, err := s.IssueChallenge(ctx, store.Issue{Challenge: c, Network: fmt.Sprintf("203.0.113.%d", i), SendLimit: limit})
			require.NoError(t, err)
			return got
		})
		for _, got := range issued {
			require.False(t, got.Limited)
			codes[string(got.Challenge.CodeHash)+"/"+string(got.Challenge.Nonce)]++
		}
		assert.Len(t, codes, 1, "every send answers the code in effect")
		held := issued[0].Challenge
		require.NoError(t, verify(s, checkOf(held, held.CodeHash, base)), "the code every send answered is the one held")
	})
}

// race runs f(0) ... f(n-1) at once and returns their answers.
func race[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// TestMatchesMemstore plays random sequences of sends (limited or not, to
// known and unknown phones), code checks (right, wrong, with and without a
// captcha), consumes and clears from a few networks, on a fake clock with
// nanoseconds, against redisstore and memstore (the reference: the steps
// store.NextIssue, store.NextAttempt and store.Live under a mutex), and
// requires the same answer every time. The policies include odd ones:
// nanosecond durations, durations beyond 2^53 ns (where a script computing
// in Lua's doubles would round), Attempts 1 and 0, MaxLockout below
// Lockout, Retain zero, a negative send period, no budget and a budget
// without burst.
func TestMatchesMemstore(t *testing.T) {
	type policy struct {
		guess store.GuessPolicy
		send  store.SendLimit
	}
	policies := []policy{
		{defaultPolicy, store.SendLimit{Limit: 3, Period: 15 * time.Minute}},
		{store.GuessPolicy{Attempts: 2, Lockout: 333*time.Millisecond + time.Nanosecond, MaxLockout: 7*time.Hour + 999999999, Retain: time.Hour + 1,
			Budget: 3, BudgetWindow: time.Hour + 7}, store.SendLimit{Limit: 1, Period: time.Nanosecond}},
		{store.GuessPolicy{Attempts: 3, Lockout: time.Nanosecond, MaxLockout: day, Retain: 30 * day, Budget: 50, BudgetBurst: 4, BudgetWindow: day},
			store.SendLimit{Limit: 2, Period: 400*day + 1}},
		{store.GuessPolicy{Attempts: 1, Lockout: 50*day + 1, MaxLockout: 400*day + 7, Retain: 300*day + 3, Budget: 7, BudgetBurst: 2, BudgetWindow: 400*day + 1},
			store.SendLimit{}},
		{store.GuessPolicy{Attempts: 1, Lockout: 0, MaxLockout: time.Hour, Retain: 0, Budget: 4, BudgetBurst: 1, BudgetWindow: time.Hour},
			store.SendLimit{Limit: 5, Period: -time.Second}},
		{store.GuessPolicy{Attempts: 0, Lockout: time.Minute, MaxLockout: time.Hour, Retain: time.Hour},
			store.SendLimit{Limit: 2, Period: time.Minute}},
		{store.GuessPolicy{Attempts: 4, Lockout: 2 * time.Hour, MaxLockout: time.Hour, Retain: 3 * time.Hour, Budget: 5, BudgetBurst: 3, BudgetWindow: 10 * time.Minute},
			store.SendLimit{Limit: 3, Period: time.Hour}},
	}
	backends(t, func(t *testing.T, s *redisstore.Store, _ redis.UniversalClient, _ string) {
		ctx := context.Background()
		ref := memstore.New()
		rng := rand.New(rand.NewPCG(21, 3))
		networks := []string{"192.0.2.1", "192.0.2.2", "2001:db8:1:2::/64", ""}
		codes := [][]byte{randomBytes(t, 32), randomBytes(t, 32), {0, 1, 0}}
		seen := map[string]int{} // what the run went through, to show it went through everything
		for pi, pol := range policies {
			p := pol.guess
			ph := fmt.Sprintf("+1415555%04d", pi)
			now := base.Add(time.Duration(rng.Int64N(int64(time.Second))))
			// marks are instants the answers named (a lockout's or the
			// budget's end, a window's, a code's expiry, a failure's Retain
			// later): the clock often jumps to one, or 1 ns before it, so
			// the boundaries are tried to the nanosecond.
			var marks []time.Time
			mark := func(ts ...time.Time) {
				for _, m := range ts {
					if m.After(now) {
						marks = append(marks, m)
					}
				}
				if len(marks) > 20 {
					marks = marks[len(marks)-20:]
				}
			}
			step := func() time.Duration {
				switch r := rng.IntN(100); {
				case r < 15 && len(marks) > 0:
					m := marks[rng.IntN(len(marks))]
					if !m.After(now) {
						return 0
					}
					return m.Sub(now) - time.Duration(rng.IntN(2))
				case r < 45:
					return 0
				case r < 70:
					return time.Duration(rng.Int64N(int64(time.Second)))
				case r < 88:
					return time.Duration(rng.Int64N(int64(3 * time.Minute)))
				case r < 97:
					return time.Duration(rng.Int64N(int64(2*max(p.MaxLockout, p.BudgetInterval()*time.Duration(max(p.BudgetBurst, 1)))) + 1))
				default:
					return time.Duration(rng.Int64N(int64(2*max(p.Retain, time.Hour)) + 1))
				}
			}
			for i := range 300 {
				now = now.Add(step())
				network := networks[rng.IntN(len(networks))]
				msg := fmt.Sprintf("policy %d step %d at %v from %q", pi, i, now, network)
				switch r := rng.IntN(100); {
				case r < 25:
					c := store.Challenge{
						TenantID: tenantA, Phone: ph, CodeHash: codes[rng.IntN(len(codes))],
						CreatedAt: now, ExpiresAt: now.Add(time.Duration(rng.Int64N(int64(10*time.Minute))) + 1),
						MaxAttempts: rng.IntN(5),
					}
					if rng.IntN(4) > 0 {
						c.Nonce = randomBytes(t, 1+rng.IntN(16))
					}
					iss := store.Issue{Challenge: c, Network: network, SendLimit: pol.send, NoUser: rng.IntN(8) == 0}
					want, err := ref.IssueChallenge(ctx, iss)
					require.NoError(t, err)
					got, err := s.IssueChallenge(ctx, iss)
					require.NoError(t, err)
					sameIssued(t, want, got, "issue (NoUser %v) %s", iss.NoUser, msg)
					mark(got.LimitResets, got.Challenge.ExpiresAt)
					switch {
					case got.Limited:
						seen["send limited"]++
					case iss.NoUser:
						seen["send without user"]++
					case bytes.Equal(got.Challenge.Nonce, c.Nonce) && got.Challenge.CreatedAt.Equal(c.CreatedAt):
						seen["code saved"]++
					default:
						seen["code kept"]++
					}
				case r < 85:
					hash := randomBytes(t, 32)
					if rng.IntN(3) > 0 {
						hash = codes[rng.IntN(len(codes))]
					}
					a := store.Attempt{
						Check:   store.CodeCheck{TenantID: tenantA, Phone: ph, CodeHash: hash, Now: now},
						Network: network, Policy: p,
						PassLockout: rng.IntN(6) == 0, PassBudget: rng.IntN(6) == 0,
					}
					want, err := ref.CheckCode(ctx, a)
					require.NoError(t, err)
					got, err := s.CheckCode(ctx, a)
					require.NoError(t, err)
					sameVerdict(t, want, got, "check (pass lockout %v, budget %v) %s", a.PassLockout, a.PassBudget, msg)
					mark(got.Until)
					if got.Counted {
						mark(now.Add(p.Retain), now.Add(p.BudgetInterval()))
					}
					if got.StartedLockout {
						mark(now.Add(p.LockoutFor(got.Lockouts)))
					}
					seen[fmt.Sprintf("refusal %d", got.Refused)]++
					if got.Refused == store.NotRefused {
						seen[outcome(got.Code)]++
					}
					if got.StartedLockout {
						seen["lockout started"]++
					}
				case r < 95:
					check := store.CodeCheck{TenantID: tenantA, Phone: ph, CodeHash: codes[rng.IntN(len(codes))], Now: now}
					require.Equal(t, outcome(ref.ConsumeChallenge(ctx, check)), outcome(s.ConsumeChallenge(ctx, check)), "consume %s", msg)
				default:
					require.NoError(t, ref.ClearCounters(ctx, tenantA, ph))
					require.NoError(t, s.ClearCounters(ctx, tenantA, ph))
					seen["cleared"]++
				}
			}
		}
		t.Logf("went through %v", seen)
		for _, what := range []string{"send limited", "send without user", "code saved", "code kept",
			"refusal 0", "refusal 1", "refusal 2", "lockout started", "ok", "cleared",
			store.ErrNoChallenge.Error(), store.ErrChallengeUsed.Error(), store.ErrChallengeExpired.Error(),
			store.ErrTooManyAttempts.Error(), store.ErrCodeMismatch.Error()} {
			assert.Positive(t, seen[what], "the run never went through %q", what)
		}
	})
}

func sameIssued(t *testing.T, want, got store.Issued, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	require.Truef(t, want.LimitResets.Equal(got.LimitResets), "%s: LimitResets %v, want %v", msg, got.LimitResets, want.LimitResets)
	want.LimitResets, got.LimitResets = time.Time{}, time.Time{}
	sameChallenge(t, want.Challenge, got.Challenge, msg)
	want.Challenge, got.Challenge = store.Challenge{}, store.Challenge{}
	require.Equal(t, want, got, msg)
}

func sameVerdict(t *testing.T, want, got store.Verdict, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	require.Truef(t, want.Until.Equal(got.Until), "%s: Until %v, want %v", msg, got.Until, want.Until)
	require.Equal(t, outcome(want.Code), outcome(got.Code), "%s: code", msg)
	want.Until, got.Until, want.Code, got.Code = time.Time{}, time.Time{}, nil, nil
	require.Equal(t, want, got, msg)
}

// outcome names the sentinel err wraps ("ok" for nil), or err itself.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return err.Error()
}

// TestCountersKey pins the key layout README describes: one hash per phone
// beside its challenge, a field per network and the budget, a TTL that
// reaches the latest instant any of them matters (only ever extended), and
// ClearCounters deleting it whole while the code stays.
func TestCountersKey(t *testing.T) {
	t.Parallel()
	s, client, prefix := newStore(t, redisstore.Config{})
	ctx := context.Background()
	key := prefix + "{" + tenantA + ":" + phone + "}:counters"
	ttl := func() time.Duration {
		t.Helper()
		d, err := client.PTTL(ctx, key).Result()
		require.NoError(t, err)
		return d
	}
	now := base.Add(123456789 * time.Nanosecond)
	c := challenge(t, tenantA, 5)
	c.CreatedAt, c.ExpiresAt = now, now.Add(5*time.Minute)

	// A send: the network's window, kept until it ends.
	_, err := s.IssueChallenge(ctx, store.Issue{Challenge: c, Network: "192.0.2.1", SendLimit: store.SendLimit{Limit: 3, Period: 15 * time.Minute}})
	require.NoError(t, err)
	fields, err := client.HGetAll(ctx, key).Result()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"n:192.0.2.1": "0 0 -62135596800 0 -62135596800 0 1 1582978500 123456789 1582978500 123456789",
	}, fields)
	assert.InDelta(t, 15*time.Minute+time.Minute, ttl(), float64(5*time.Second), "until the window ends, and a minute")

	// A wrong code: the network's failure, the budget, kept for Retain.
	p := store.GuessPolicy{Attempts: 2, Lockout: 15 * time.Minute, MaxLockout: time.Hour, Retain: 30 * day, Budget: 10, BudgetBurst: 5, BudgetWindow: 100 * time.Second}
	attempt := func(network string) store.Verdict {
		t.Helper()
		v, err := s.CheckCode(ctx, store.Attempt{Check: checkOf(c, nil, now), Network: network, Policy: p})
		require.NoError(t, err)
		return v
	}
	attempt("192.0.2.1")
	fields, err = client.HGetAll(ctx, key).Result()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"n:192.0.2.1": "1 0 -62135596800 0 1582977600 123456789 1 1582978500 123456789 1585569600 123456789",
		"b":           "1582977610 123456789",
	}, fields)
	assert.InDelta(t, p.Retain+time.Minute, ttl(), float64(5*time.Second))

	// The second starts a lockout; a shorter TTL is not set by anything.
	require.NoError(t, client.PExpire(ctx, key, time.Minute).Err())
	require.True(t, attempt("192.0.2.1").StartedLockout)
	assert.InDelta(t, p.Retain+time.Minute, ttl(), float64(5*time.Second), "a counted failure extends the TTL")
	v, err := client.HGet(ctx, key, "n:192.0.2.1").Result()
	require.NoError(t, err)
	assert.Equal(t, "2 1 1582978500 123456789 1582977600 123456789 1 1582978500 123456789 1585569600 123456789", v)
	_, err = s.IssueChallenge(ctx, store.Issue{Challenge: c, Network: "192.0.2.1", SendLimit: store.SendLimit{Limit: 3, Period: time.Minute}})
	require.NoError(t, err)
	assert.InDelta(t, p.Retain+time.Minute, ttl(), float64(5*time.Second), "a send in the window does not shorten the TTL")
	_, err = s.IssueChallenge(ctx, store.Issue{Challenge: c, Network: "192.0.2.2", SendLimit: store.SendLimit{Limit: 3, Period: time.Minute}})
	require.NoError(t, err)
	assert.InDelta(t, p.Retain+time.Minute, ttl(), float64(5*time.Second), "another network's shorter window does not shorten the TTL")

	// Refused: nothing changes.
	require.Equal(t, store.RefusedLockout, attempt("192.0.2.1").Refused)
	v2, err := client.HGet(ctx, key, "n:192.0.2.1").Result()
	require.NoError(t, err)
	assert.Equal(t, "2 1 1582978500 123456789 1582977600 123456789 2 1582978500 123456789 1585569600 123456789", v2,
		"only the send above changed the network's state")

	// ClearCounters: the key is gone, the code stays.
	require.NoError(t, s.ClearCounters(ctx, tenantA, phone))
	n, err := client.Exists(ctx, key, prefix+"{"+tenantA+":"+phone+"}:code").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "only the challenge is left")
	assert.Equal(t, store.NotRefused, attempt("192.0.2.1").Refused, "the lockout was cleared")

	// The budget outlasting every network's failures: the key lives until
	// the budget is whole again.
	require.NoError(t, s.ClearCounters(ctx, tenantA, phone))
	p.Retain, p.Budget, p.BudgetWindow = time.Minute, 1, 10*time.Hour
	attempt("192.0.2.9")
	assert.InDelta(t, 10*time.Hour+time.Minute, ttl(), float64(5*time.Second))

	// Without Retain, a network's failures are kept (and the key lives)
	// MaxLockout after the last, as memstore keeps them.
	require.NoError(t, s.ClearCounters(ctx, tenantA, phone))
	p.Retain, p.Budget, p.MaxLockout = 0, 0, 2*time.Hour
	attempt("192.0.2.9")
	assert.InDelta(t, 2*time.Hour+time.Minute, ttl(), float64(5*time.Second))
}

// TestNoUserAndLimitedStoreNothing: a send to a phone without a user counts
// the send and stores no code (nor touches the one there); a send the limit
// refuses changes nothing at all.
func TestNoUserAndLimitedStoreNothing(t *testing.T) {
	t.Parallel()
	s, client, prefix := newStore(t, redisstore.Config{})
	ctx := context.Background()
	codeKey := prefix + "{" + tenantA + ":" + phone + "}:code"
	countersKey := prefix + "{" + tenantA + ":" + phone + "}:counters"
	limit := store.SendLimit{Limit: 2, Period: time.Hour}
	c := challenge(t, tenantA, 5)

	issued, err := s.IssueChallenge(ctx, store.Issue{Challenge: c, Network: testNetwork, SendLimit: limit, NoUser: true})
	require.NoError(t, err)
	assert.Equal(t, store.Issued{SendsLeft: 1, LimitResets: issued.LimitResets}, issued)
	assert.True(t, base.Add(time.Hour).Equal(issued.LimitResets))
	assert.Equal(t, int64(0), client.Exists(ctx, codeKey).Val(), "no code stored")

	issued, err = s.IssueChallenge(ctx, store.Issue{Challenge: c, Network: testNetwork, SendLimit: limit})
	require.NoError(t, err)
	assert.Equal(t, 0, issued.SendsLeft)
	assert.Equal(t, c.CodeHash, issued.Challenge.CodeHash)
	code, err := client.HGetAll(ctx, codeKey).Result()
	require.NoError(t, err)
	counters, err := client.HGetAll(ctx, countersKey).Result()
	require.NoError(t, err)

	other := challenge(t, tenantA, 5)
	other.CreatedAt = base.Add(59 * time.Minute)
	require.NoError(t, s.ConsumeChallenge(ctx, checkOf(c, c.CodeHash, base))) // no longer live
	code["used"] = "1"
	issued, err = s.IssueChallenge(ctx, store.Issue{Challenge: other, Network: testNetwork, SendLimit: limit})
	require.NoError(t, err)
	assert.Equal(t, store.Issued{Limited: true, LimitResets: issued.LimitResets}, issued)
	assert.True(t, base.Add(time.Hour).Equal(issued.LimitResets))
	after, err := client.HGetAll(ctx, codeKey).Result()
	require.NoError(t, err)
	assert.Equal(t, code, after, "a limited send leaves the code as it was")
	after, err = client.HGetAll(ctx, countersKey).Result()
	require.NoError(t, err)
	assert.Equal(t, counters, after, "a limited send leaves the counters as they were")

	// Another network is not limited by the first.
	issued, err = s.IssueChallenge(ctx, store.Issue{Challenge: other, Network: "198.51.100.1", SendLimit: limit})
	require.NoError(t, err)
	assert.False(t, issued.Limited)
	assert.Equal(t, other.CodeHash, issued.Challenge.CodeHash)
}

// TestNetworkBound: a phone keeps the counters of at most MaxNetworks
// networks. A new network past it drops the networks whose counters no
// longer matter first, then those that stop mattering soonest; the
// phone's budget is never dropped.
func TestNetworkBound(t *testing.T) {
	t.Parallel()
	client := newClient(t)
	prefix := testPrefix(t, client)
	s, err := redisstore.New(client, redisstore.Config{Prefix: prefix, MaxNetworks: 4})
	require.NoError(t, err)
	ctx := context.Background()
	key := prefix + "{" + tenantA + ":" + phone + "}:counters"
	c := challenge(t, tenantA, 1000)
	require.True(t, save(t, s, c))
	p := store.GuessPolicy{Attempts: 1, Lockout: time.Hour, MaxLockout: time.Hour, Retain: 2 * time.Hour, Budget: 1000, BudgetBurst: 1000, BudgetWindow: day}
	wrong := func(network string, at time.Duration) store.Verdict {
		t.Helper()
		v, err := s.CheckCode(ctx, store.Attempt{Check: checkOf(c, nil, base.Add(at)), Network: network, Policy: p})
		require.NoError(t, err)
		return v
	}
	send := func(network string, at time.Duration, period time.Duration) {
		t.Helper()
		c := c
		c.CreatedAt = base.Add(at)
		_, err := s.IssueChallenge(ctx, store.Issue{Challenge: c, Network: network, SendLimit: store.SendLimit{Limit: 1, Period: period}})
		require.NoError(t, err)
	}
	networks := func() []string {
		t.Helper()
		fields, err := client.HKeys(ctx, key).Result()
		require.NoError(t, err)
		return fields
	}

	// Four networks: a send window to 00:10, failures that matter until
	// 02:00, 02:01 and 02:02 (Retain after each).
	send("net-send", 0, 10*time.Minute)
	wrong("net-a", 0)
	wrong("net-b", time.Minute)
	wrong("net-c", 2*time.Minute)
	assert.ElementsMatch(t, []string{"b", "n:net-send", "n:net-a", "n:net-b", "n:net-c"}, networks())

	// At 00:30 the send window is over: the fifth network takes its place.
	wrong("net-d", 30*time.Minute)
	assert.ElementsMatch(t, []string{"b", "n:net-a", "n:net-b", "n:net-c", "n:net-d"}, networks())
	// Nothing is idle: the one that stops mattering soonest (net-a) goes.
	wrong("net-e", 31*time.Minute)
	assert.ElementsMatch(t, []string{"b", "n:net-b", "n:net-c", "n:net-d", "n:net-e"}, networks())
	// The others are still locked out.
	assert.Equal(t, store.RefusedLockout, wrong("net-b", 32*time.Minute).Refused)
	assert.Equal(t, store.RefusedLockout, wrong("net-e", 32*time.Minute).Refused)
	// At 02:15 net-b (02:01) and net-c (02:02) are idle, net-d (02:30) and
	// net-e (02:31) still matter: a new network drops only the idle ones.
	wrong("net-f", 2*time.Hour+15*time.Minute)
	assert.ElementsMatch(t, []string{"b", "n:net-d", "n:net-e", "n:net-f"}, networks())
	// A known network is no new one: nothing is dropped for it, and its
	// count goes on.
	v := wrong("net-d", 2*time.Hour+20*time.Minute)
	assert.True(t, v.StartedLockout)
	assert.Equal(t, 2, v.Lockouts, "net-d's second lockout")
	assert.ElementsMatch(t, []string{"b", "n:net-d", "n:net-e", "n:net-f"}, networks())
	// Sends make room the same way: net-g joins the three; for net-h
	// nothing is idle, and net-e (02:31) stops mattering soonest.
	send("net-g", 2*time.Hour+20*time.Minute, time.Hour)
	assert.ElementsMatch(t, []string{"b", "n:net-d", "n:net-e", "n:net-f", "n:net-g"}, networks())
	send("net-h", 2*time.Hour+21*time.Minute, time.Hour)
	assert.ElementsMatch(t, []string{"b", "n:net-d", "n:net-f", "n:net-g", "n:net-h"}, networks())
	// The budget counted every failure whatever was dropped: the last
	// one, apart from the others, put it one interval past 02:20.
	budget, err := client.HGet(ctx, key, "b").Result()
	require.NoError(t, err)
	var sec, ns int64
	_, err = fmt.Sscanf(budget, "%d %d", &sec, &ns)
	require.NoError(t, err)
	want := base.Add(2*time.Hour + 20*time.Minute).Add(p.BudgetInterval())
	assert.True(t, want.Equal(time.Unix(sec, ns)), "budget at %v, want %v", time.Unix(sec, ns).UTC(), want)
}

// TestCountersMemory reports what a phone's counters take in Redis, and
// bounds it: with one network, and with MaxNetworks of them.
func TestCountersMemory(t *testing.T) {
	t.Parallel()
	s, client, prefix := newStore(t, redisstore.Config{})
	ctx := context.Background()
	key := prefix + "{" + tenantA + ":" + phone + "}:counters"
	c := challenge(t, tenantA, 1000)
	require.True(t, save(t, s, c))
	usage := func() int64 {
		t.Helper()
		n, err := client.MemoryUsage(ctx, key).Result()
		require.NoError(t, err)
		return n
	}
	for i := range 64 {
		network := fmt.Sprintf("2001:db8:%x:%x::/64", i, 1000+i)
		_, err := s.IssueChallenge(ctx, store.Issue{Challenge: c, Network: network, SendLimit: store.SendLimit{Limit: 3, Period: 15 * time.Minute}})
		require.NoError(t, err)
		_, err = s.CheckCode(ctx, store.Attempt{Check: checkOf(c, nil, base), Network: network, Policy: defaultPolicy, PassBudget: true})
		require.NoError(t, err)
		if i == 0 {
			t.Logf("one network and the budget: %d bytes", usage())
			assert.Less(t, usage(), int64(1024))
		}
	}
	t.Logf("64 networks and the budget: %d bytes", usage())
	assert.Less(t, usage(), int64(20*1024))
	_, err := s.CheckCode(ctx, store.Attempt{Check: checkOf(c, nil, base), Network: "one more", Policy: defaultPolicy, PassBudget: true})
	require.NoError(t, err)
	assert.Equal(t, int64(65), client.HLen(ctx, key).Val(), "64 networks and the budget")
}
