package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

// counterPolicy is a short ladder, so the tests see escalation and its cap
// (lockouts of 15m, 30m, 1h, then 1h again), and a budget of 4 an hour after
// a burst of 2 (one comparison per 15 minutes).
var counterPolicy = store.GuessPolicy{
	Attempts: 3, Lockout: 15 * time.Minute, MaxLockout: time.Hour, Retain: 30 * 24 * time.Hour,
	Budget: 4, BudgetBurst: 2, BudgetWindow: time.Hour,
}

// noBudget is counterPolicy without the phone's budget, for the tests of the
// network's ladder alone.
var noBudget = func() store.GuessPolicy { p := counterPolicy; p.Budget = 0; return p }()

// runCounters is the conformance suite of the counters that guard a phone's
// codes: the send limit and the lockout per network, the phone's budget.
func (h harness) runCounters(t *testing.T) {
	t.Run("SendLimitPerNetwork", h.testSendLimitPerNetwork)
	t.Run("LockoutPerNetwork", h.testLockoutPerNetwork)
	t.Run("LockoutPassedWithCaptcha", h.testLockoutPassed)
	t.Run("RetainForgets", h.testRetainForgets)
	t.Run("BudgetAcrossNetworks", h.testBudgetAcrossNetworks)
	t.Run("RightCodeCountsNothing", h.testRightCodeCountsNothing)
	t.Run("UnknownPhoneCountedAlike", h.testUnknownPhoneCounted)
	t.Run("ClearCountersForgetsAll", h.testClearCounters)
	t.Run("ConcurrentWrongCodesExact", h.testConcurrentWrongCodes)
	t.Run("ConcurrentBudgetExact", h.testConcurrentBudget)
	t.Run("MatchesReference", h.testMatchesReference)
	t.Run("ResetClearsCounters", h.testResetClearsCounters)
}

func attempt(t *testing.T, s store.Store, c store.Challenge, code []byte, network string, now time.Time, p store.GuessPolicy) store.Verdict {
	t.Helper()
	v, err := s.CheckCode(ctxOf(t), store.Attempt{Check: check(c, code, now), Network: network, Policy: p})
	require.NoError(t, err, "verdicts are not faults")
	return v
}

// phoneOf returns a phone no other subtest of this store uses.
func phoneOf(t *testing.T) string {
	b := randomBytes(t, 4)
	n := (int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])) % 100000000
	return fmt.Sprintf("+9198%08d", n)
}

// The send limit counts per phone and network in a window that starts at
// the first send; a limited send changes nothing else; another network of
// the same phone, and another phone, are not limited.
func (h harness) testSendLimitPerNetwork(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	limit := store.SendLimit{Limit: 2, Period: 15 * time.Minute}
	c1 := newChallenge(t, tenantA, phone1, now, 5)
	got := issue(t, s, c1, "net-a", limit)
	assert.False(t, got.Limited)
	assert.Equal(t, 1, got.SendsLeft)
	assert.Truef(t, got.LimitResets.Equal(now.Add(limit.Period)), "window ends %v, got %v", now.Add(limit.Period), got.LimitResets)
	require.NoError(t, s.ConsumeChallenge(ctx, check(c1, c1.CodeHash, now)))

	c2 := newChallenge(t, tenantA, phone1, now.Add(time.Minute), 5)
	got = issue(t, s, c2, "net-a", limit)
	assert.False(t, got.Limited)
	assert.Equal(t, 0, got.SendsLeft)
	requireChallenge(t, c2, got.Challenge) // the used code was replaced

	c3 := newChallenge(t, tenantA, phone1, now.Add(2*time.Minute), 5)
	got = issue(t, s, c3, "net-a", limit)
	assert.True(t, got.Limited, "the third send of a limit of 2")
	assert.Truef(t, got.LimitResets.Equal(now.Add(limit.Period)), "LimitResets %v", got.LimitResets)
	assert.Empty(t, got.Challenge.CodeHash, "a limited send has no code in effect")
	require.NoError(t, verifyChallenge(ctx, s, check(c2, c2.CodeHash, c3.CreatedAt)), "a limited send changed nothing")

	got = issue(t, s, newChallenge(t, tenantA, phone1, now.Add(2*time.Minute), 5), "net-b", limit)
	assert.False(t, got.Limited, "another network of the same phone")
	got = issue(t, s, newChallenge(t, tenantA, phone2, now.Add(2*time.Minute), 5), "net-a", limit)
	assert.False(t, got.Limited, "another phone from the same network")
	got = issue(t, s, newChallenge(t, tenantB, phone1, now.Add(2*time.Minute), 5), "net-a", limit)
	assert.False(t, got.Limited, "another tenant")

	got = issue(t, s, newChallenge(t, tenantA, phone1, now.Add(limit.Period), 5), "net-a", limit)
	assert.False(t, got.Limited, "a new window")
	assert.Equal(t, 1, got.SendsLeft)
}

// Every Attempts wrong codes from one network lock that network out of the
// phone, each lockout twice as long up to MaxLockout; a locked network is
// refused without counting; other networks compare as before.
func (h harness) testLockoutPerNetwork(t *testing.T) {
	s, now := h.fresh(t)
	c := newChallenge(t, tenantA, phone1, now, 1000)
	c.ExpiresAt = now.Add(24 * time.Hour)
	require.NoError(t, saveChallenge(ctxOf(t), s, c))
	wrong := randomBytes(t, 32)
	for round, length := range []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, time.Hour} {
		for i := 1; i <= noBudget.Attempts; i++ {
			v := attempt(t, s, c, wrong, "net-a", now, noBudget)
			require.Equal(t, store.NotRefused, v.Refused, "round %d wrong code %d", round, i)
			require.ErrorIs(t, v.Code, store.ErrCodeMismatch)
			assert.True(t, v.Counted)
			assert.Equal(t, i == noBudget.Attempts, v.StartedLockout, "round %d wrong code %d", round, i)
		}
		locked := attempt(t, s, c, c.CodeHash, "net-a", now.Add(length-time.Second), noBudget)
		assert.Equal(t, store.RefusedLockout, locked.Refused, "even the right code, until the end of lockout %d", round+1)
		assert.Truef(t, locked.Until.Equal(now.Add(length)), "lockout %d lasts %v: until %v", round+1, length, locked.Until)
		assert.False(t, locked.Counted)
		assert.NoError(t, locked.Code, "nothing was compared")
		other := attempt(t, s, c, c.CodeHash, "net-b", now.Add(length-time.Second), noBudget)
		assert.Equal(t, store.NotRefused, other.Refused, "another network is not locked out")
		assert.NoError(t, other.Code, "and the owner's right code works from it")
		now = now.Add(length)
	}
}

// In the captcha lockout type a freshly solved captcha lets a locked
// network compare, and the comparison counts.
func (h harness) testLockoutPassed(t *testing.T) {
	s, now := h.fresh(t)
	c := newChallenge(t, tenantA, phone1, now, 1000)
	require.NoError(t, saveChallenge(ctxOf(t), s, c))
	wrong := randomBytes(t, 32)
	for range noBudget.Attempts {
		attempt(t, s, c, wrong, "net-a", now, noBudget)
	}
	v, err := s.CheckCode(ctxOf(t), store.Attempt{Check: check(c, wrong, now), Network: "net-a", Policy: noBudget, PassLockout: true})
	require.NoError(t, err)
	assert.Equal(t, store.NotRefused, v.Refused)
	assert.ErrorIs(t, v.Code, store.ErrCodeMismatch)
	assert.True(t, v.Counted)
	v, err = s.CheckCode(ctxOf(t), store.Attempt{Check: check(c, c.CodeHash, now), Network: "net-a", Policy: noBudget, PassLockout: true})
	require.NoError(t, err)
	assert.NoError(t, v.Code, "the right code with a captcha")
}

// A network's count is forgotten Retain after its last wrong code.
func (h harness) testRetainForgets(t *testing.T) {
	s, now := h.fresh(t)
	p := noBudget
	p.Retain = 2 * time.Hour
	c := newChallenge(t, tenantA, phone1, now, 1000)
	c.ExpiresAt = now.Add(24 * time.Hour)
	require.NoError(t, saveChallenge(ctxOf(t), s, c))
	wrong := randomBytes(t, 32)
	for range p.Attempts {
		attempt(t, s, c, wrong, "net-a", now, p)
	}
	later := now.Add(p.Retain)
	for i := 1; i <= p.Attempts; i++ {
		v := attempt(t, s, c, wrong, "net-a", later, p)
		require.Equal(t, store.NotRefused, v.Refused)
		if i == p.Attempts {
			assert.True(t, v.StartedLockout)
			assert.Equal(t, 1, v.Lockouts, "the ladder starts over")
			assert.Truef(t, v.Until.IsZero(), "no refusal")
		}
	}
	locked := attempt(t, s, c, wrong, "net-a", later.Add(time.Second), p)
	assert.Truef(t, locked.Until.Equal(later.Add(p.Lockout)), "the first lockout's length again: %v", locked.Until)
}

// The phone's budget counts wrong codes from every network together: a
// burst, then one per interval; a solved captcha passes it and still counts.
func (h harness) testBudgetAcrossNetworks(t *testing.T) {
	s, now := h.fresh(t)
	p := counterPolicy // Budget 4/h, burst 2: interval 15m
	c := newChallenge(t, tenantA, phone1, now, 1000)
	c.ExpiresAt = now.Add(24 * time.Hour)
	require.NoError(t, saveChallenge(ctxOf(t), s, c))
	wrong := randomBytes(t, 32)
	for i := range p.BudgetBurst {
		v := attempt(t, s, c, wrong, fmt.Sprintf("net-%d", i), now, p)
		require.Equal(t, store.NotRefused, v.Refused, "burst %d", i)
		require.True(t, v.Counted)
	}
	v := attempt(t, s, c, c.CodeHash, "net-owner", now, p)
	assert.Equal(t, store.RefusedBudget, v.Refused, "the budget is spent for now, for every network")
	assert.False(t, v.Counted)
	assert.Truef(t, v.Until.After(now) && !v.Until.After(now.Add(time.Second)), "allowed again right after now: %v", v.Until)

	v, err := s.CheckCode(ctxOf(t), store.Attempt{Check: check(c, wrong, now), Network: "net-x", Policy: p, PassBudget: true})
	require.NoError(t, err)
	assert.Equal(t, store.NotRefused, v.Refused, "a solved captcha passes a spent budget")
	assert.True(t, v.Counted, "and still counts")

	// Three comparisons at now: the next is allowed once the budget's
	// theoretical time is within the burst again, 15 minutes on.
	v = attempt(t, s, c, wrong, "net-y", now.Add(time.Second), p)
	assert.Equal(t, store.RefusedBudget, v.Refused)
	assert.Truef(t, v.Until.Equal(now.Add(15*time.Minute).Add(time.Nanosecond)), "until %v", v.Until)
	v = attempt(t, s, c, c.CodeHash, "net-owner", now.Add(16*time.Minute), p)
	assert.Equal(t, store.NotRefused, v.Refused)
	assert.NoError(t, v.Code)
}

// The right code counts nothing, however often it is presented, and nor
// does the right code of a used challenge (a concurrent success, a replay).
func (h harness) testRightCodeCountsNothing(t *testing.T) {
	s, now := h.fresh(t)
	c := newChallenge(t, tenantA, phone1, now, 5)
	require.NoError(t, saveChallenge(ctxOf(t), s, c))
	for i := range 3 * counterPolicy.Attempts {
		v := attempt(t, s, c, c.CodeHash, "net-a", now, counterPolicy)
		require.Equal(t, store.NotRefused, v.Refused, "right code %d", i)
		require.NoError(t, v.Code)
		require.False(t, v.Counted)
	}
	require.NoError(t, s.ConsumeChallenge(ctxOf(t), check(c, c.CodeHash, now)))
	for range 3 * counterPolicy.Attempts {
		v := attempt(t, s, c, c.CodeHash, "net-a", now, counterPolicy)
		require.Equal(t, store.NotRefused, v.Refused)
		require.ErrorIs(t, v.Code, store.ErrChallengeUsed)
		require.False(t, v.Counted)
	}
	// The network's ladder and the budget are untouched: Attempts wrong
	// codes are needed to lock it.
	c2 := newChallenge(t, tenantA, phone1, now, 1000)
	require.NoError(t, saveChallenge(ctxOf(t), s, c2))
	wrong := randomBytes(t, 32)
	for i := 1; i <= noBudget.Attempts; i++ {
		v := attempt(t, s, c2, wrong, "net-a", now, noBudget)
		require.Equal(t, i == noBudget.Attempts, v.StartedLockout, "wrong code %d", i)
	}
}

// A phone without a code (unknown, or never sent) is counted like a wrong
// code: the counters must not tell phones with codes from phones without.
func (h harness) testUnknownPhoneCounted(t *testing.T) {
	s, now := h.fresh(t)
	c := newChallenge(t, tenantA, phoneOf(t), now, 5)
	for i := 1; i <= noBudget.Attempts; i++ {
		v := attempt(t, s, c, c.CodeHash, "net-a", now, noBudget)
		require.ErrorIs(t, v.Code, store.ErrNoChallenge)
		require.True(t, v.Counted)
		require.Equal(t, i == noBudget.Attempts, v.StartedLockout)
	}
	assert.Equal(t, store.RefusedLockout, attempt(t, s, c, c.CodeHash, "net-a", now, noBudget).Refused)
}

// ClearCounters forgets every network's lockout and send count and the
// budget of one phone, and nothing of another phone.
func (h harness) testClearCounters(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	c := newChallenge(t, tenantA, phone1, now, 1000)
	c.ExpiresAt = now.Add(24 * time.Hour)
	other := newChallenge(t, tenantA, phone2, now, 1000)
	other.ExpiresAt = now.Add(24 * time.Hour)
	require.NoError(t, saveChallenge(ctx, s, c))
	require.NoError(t, saveChallenge(ctx, s, other))
	wrong := randomBytes(t, 32)
	limit := store.SendLimit{Limit: 1, Period: time.Hour}
	for _, ch := range []store.Challenge{c, other} {
		for _, network := range []string{"net-a", "net-b"} {
			for range noBudget.Attempts {
				attempt(t, s, ch, wrong, network, now, noBudget)
			}
			require.Equal(t, store.RefusedLockout, attempt(t, s, ch, wrong, network, now, noBudget).Refused)
		}
		for range counterPolicy.BudgetBurst {
			attempt(t, s, ch, wrong, "net-c", now, counterPolicy)
		}
		require.Equal(t, store.RefusedBudget, attempt(t, s, ch, wrong, "net-z", now, counterPolicy).Refused)
		issue(t, s, ch, "net-a", limit)
		require.True(t, issue(t, s, ch, "net-a", limit).Limited)
	}
	require.NoError(t, s.ClearCounters(ctx, tenantA, phone1))

	for _, network := range []string{"net-a", "net-b", "net-z"} {
		v := attempt(t, s, c, c.CodeHash, network, now, counterPolicy)
		assert.Equal(t, store.NotRefused, v.Refused, "%s compares again after the clear (lockout and budget)", network)
		assert.NoError(t, v.Code)
	}
	assert.False(t, issue(t, s, c, "net-a", limit).Limited, "the send limit is cleared too")
	for i := 1; i <= noBudget.Attempts; i++ {
		v := attempt(t, s, c, wrong, "net-a", now, noBudget)
		require.Equal(t, i == noBudget.Attempts, v.StartedLockout, "the ladder starts over: wrong code %d", i)
	}
	assert.True(t, v15(attempt(t, s, c, wrong, "net-a", now, noBudget).Until, now), "the first lockout's length again")

	assert.Equal(t, store.RefusedLockout, attempt(t, s, other, other.CodeHash, "net-a", now, noBudget).Refused,
		"another phone keeps its lockouts")
	assert.Equal(t, store.RefusedBudget, attempt(t, s, other, other.CodeHash, "net-y", now, counterPolicy).Refused,
		"and its budget")
	assert.True(t, issue(t, s, other, "net-a", limit).Limited, "and its send limit")
}

func v15(until, now time.Time) bool { return until.Equal(now.Add(15 * time.Minute)) }

// 40 wrong codes at once from one network compare exactly Attempts: the
// decision and the count are one atomic step.
func (h harness) testConcurrentWrongCodes(t *testing.T) {
	refused := concurrentWrongCodes(t, h, func(int) (string, store.GuessPolicy) { return "net-a", noBudget })
	assert.Equal(t, noBudget.Attempts, refused[store.NotRefused], "exactly Attempts comparisons")
	assert.Equal(t, 40-noBudget.Attempts, refused[store.RefusedLockout])
}

// Wrong codes at once from many networks never pass the budget's burst.
func (h harness) testConcurrentBudget(t *testing.T) {
	refused := concurrentWrongCodes(t, h, func(i int) (string, store.GuessPolicy) { return fmt.Sprintf("net-%d", i), counterPolicy })
	assert.Equal(t, counterPolicy.BudgetBurst, refused[store.NotRefused], "exactly the burst")
	assert.Equal(t, 40-counterPolicy.BudgetBurst, refused[store.RefusedBudget])
}

// concurrentWrongCodes presents 40 wrong codes for one phone at once, the
// i-th from the network and under the policy from(i), and counts the
// verdicts by refusal.
func concurrentWrongCodes(t *testing.T, h harness, from func(i int) (string, store.GuessPolicy)) map[store.Refusal]int {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	c := newChallenge(t, tenantA, phone1, now, 1000)
	require.NoError(t, saveChallenge(ctx, s, c))
	wrong := randomBytes(t, 32)
	const callers = 40
	verdicts := make([]store.Verdict, callers)
	errs := concurrently(callers, func(i int) error {
		network, p := from(i)
		v, err := s.CheckCode(ctx, store.Attempt{Check: check(c, wrong, now), Network: network, Policy: p})
		verdicts[i] = v
		return err
	})
	refused := map[store.Refusal]int{}
	for i, err := range errs {
		require.NoError(t, err)
		refused[verdicts[i].Refused]++
	}
	return refused
}

// Random sequences of sends, attempts and clears over a few phones and
// networks give the same answers as memstore, the reference.
func (h harness) testMatchesReference(t *testing.T) {
	s, now := h.fresh(t)
	if _, isRef := s.(*memstore.Store); isRef {
		t.Skip("memstore is the reference")
	}
	ref := memstore.New()
	ctx := ctxOf(t)
	rng := rand.New(rand.NewPCG(uint64(now.UnixNano()), 7))
	phones := []string{phoneOf(t), phoneOf(t)}
	networks := []string{"n1", "n2", "n3"}
	codes := map[string]store.Challenge{}
	limit := store.SendLimit{Limit: 3, Period: 20 * time.Minute}
	steps := 300
	if testing.Short() {
		steps = 80
	}
	for step := range steps {
		now = now.Add(time.Duration(rng.IntN(600)) * time.Second)
		phone, network := phones[rng.IntN(len(phones))], networks[rng.IntN(len(networks))]
		where := fmt.Sprintf("step %d (%s from %s at %v)", step, phone, network, now)
		switch op := rng.IntN(10); {
		case op < 3:
			iss := store.Issue{Challenge: newChallenge(t, tenantA, phone, now, 3), Network: network, SendLimit: limit}
			if want := sameIssue(t, ref, s, iss, where); !want.Limited {
				codes[phone] = want.Challenge
			}
		case op < 9:
			c, ok := codes[phone]
			code := randomBytes(t, 32)
			if ok && rng.IntN(3) == 0 {
				code = c.CodeHash
			}
			a := store.Attempt{Check: store.CodeCheck{TenantID: tenantA, Phone: phone, CodeHash: code, Now: now},
				Network: network, Policy: counterPolicy, PassLockout: rng.IntN(8) == 0, PassBudget: rng.IntN(8) == 0}
			sameVerdict(t, ref, s, a, where)
		default:
			require.NoError(t, ref.ClearCounters(ctx, tenantA, phone))
			require.NoError(t, s.ClearCounters(ctx, tenantA, phone), where)
		}
	}
}

// sameIssue issues iss on the reference and on s and requires the same
// answer; it returns the reference's.
func sameIssue(t *testing.T, ref, s store.Store, iss store.Issue, where string) store.Issued {
	t.Helper()
	ctx := ctxOf(t)
	want, err := ref.IssueChallenge(ctx, iss)
	require.NoError(t, err)
	got, err := s.IssueChallenge(ctx, iss)
	require.NoError(t, err, where)
	require.Equal(t, want.Limited, got.Limited, "Limited: %s", where)
	require.Equal(t, want.SendsLeft, got.SendsLeft, "SendsLeft: %s", where)
	require.Truef(t, want.LimitResets.Equal(got.LimitResets), "LimitResets %v, got %v: %s", want.LimitResets, got.LimitResets, where)
	require.Equal(t, want.Challenge.CodeHash, got.Challenge.CodeHash, "the code in effect: %s", where)
	return want
}

// sameVerdict checks a's code on the reference and on s and requires the
// same verdict.
func sameVerdict(t *testing.T, ref, s store.Store, a store.Attempt, where string) {
	t.Helper()
	ctx := ctxOf(t)
	want, err := ref.CheckCode(ctx, a)
	require.NoError(t, err)
	got, err := s.CheckCode(ctx, a)
	require.NoError(t, err, where)
	require.Equal(t, want.Refused, got.Refused, "Refused: %s", where)
	require.Truef(t, want.Until.Equal(got.Until), "Until %v, got %v: %s", want.Until, got.Until, where)
	require.Equal(t, want.Counted, got.Counted, "Counted: %s", where)
	require.Equal(t, want.StartedLockout, got.StartedLockout, "StartedLockout: %s", where)
	require.Equal(t, want.Lockouts, got.Lockouts, "Lockouts: %s", where)
	wantKind, gotKind := errorsKind(want.Code), errorsKind(got.Code)
	if errors.Is(want.Code, store.ErrChallengeExpired) && errors.Is(got.Code, store.ErrNoChallenge) {
		gotKind = wantKind // a store may purge an expired code (memstore sweeps later)
	}
	require.Equal(t, wantKind, gotKind, "Code: %s", where)
}

// errorsKind names the store sentinel err wraps, for comparing verdicts.
func errorsKind(err error) string {
	for _, s := range []error{store.ErrCodeMismatch, store.ErrNoChallenge, store.ErrChallengeExpired, store.ErrChallengeUsed, store.ErrTooManyAttempts} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return "nil"
}

// A successful Reset clears the phone's counters in its own step.
func (h harness) testResetClearsCounters(t *testing.T) {
	if _, ok := h.newStore(t).(store.Resetter); !ok {
		t.Skip("store does not implement store.Resetter (ApplyReset clears the counters itself)")
	}
	f := h.newResetFixture(t, 1000)
	wrong := randomBytes(t, 32)
	for range noBudget.Attempts {
		attempt(t, f.s, f.challenge, wrong, "net-a", f.now, noBudget)
	}
	require.Equal(t, store.RefusedLockout, attempt(t, f.s, f.challenge, f.challenge.CodeHash, "net-a", f.now, noBudget).Refused)
	require.NoError(t, resetter(t, f.s).Reset(ctxOf(t), f.reset(t, f.challenge.CodeHash)))
	c := newChallenge(t, tenantA, phone1, f.now, 5)
	require.NoError(t, saveChallenge(ctxOf(t), f.s, c))
	v := attempt(t, f.s, c, c.CodeHash, "net-a", f.now, noBudget)
	assert.Equal(t, store.NotRefused, v.Refused, "the reset cleared the network's lockout")
	assert.NoError(t, v.Code)
}

// testUsedAnswersOnlyItsCode: after a success, the code that was used is
// told "already used" (a concurrent success, which counts nothing); any
// other code is simply wrong, so guesses against a used code are counted
// like any other.
func (h harness) testUsedAnswersOnlyItsCode(t *testing.T) {
	s, now := h.fresh(t)
	ctx := ctxOf(t)
	c := newChallenge(t, tenantA, "+919900000077", now, 5)
	require.NoError(t, saveChallenge(ctx, s, c))
	require.NoError(t, s.ConsumeChallenge(ctx, check(c, c.CodeHash, now)))
	require.ErrorIs(t, verifyChallenge(ctx, s, check(c, c.CodeHash, now)), store.ErrChallengeUsed)
	err := verifyChallenge(ctx, s, check(c, randomBytes(t, 32), now))
	require.ErrorIs(t, err, store.ErrCodeMismatch)
	require.NotErrorIs(t, err, store.ErrChallengeUsed)
	require.ErrorIs(t, s.ConsumeChallenge(ctx, check(c, randomBytes(t, 32), now)), store.ErrCodeMismatch)
}
