package store

import (
	"errors"
	"time"
)

// The counters that guard a phone's codes (README "Security model"):
//
//   - per tenant, phone and client network (an IPv4 address, an IPv6 /64):
//     a send limit (a fixed window) and an escalating lockout after wrong
//     codes, so that what one network does locks or limits that network for
//     that phone, never the owner on another network;
//   - per tenant and phone, whatever the network: the guessing budget, a
//     generic cell rate (GCRA) over wrong codes, the backstop that bounds
//     every attacker together.
//
// Stores keep them beside the phone's challenge and decide each request in
// one atomic step (Challenges.IssueChallenge, Challenges.CheckCode). The
// steps are defined here as pure functions (NextIssue, NextAttempt) over the
// states below: stores that keep the state as values (memstore, a row read
// under a lock, a Lua script) compute the same answer, and storetest checks
// every store against them.

// GuessPolicy is how wrong codes are limited.
type GuessPolicy struct {
	// Per client network: every Attempts wrong codes from one network lock
	// that network out of the phone, for Lockout the first time and twice as
	// long each time after, up to MaxLockout. A network's count is forgotten
	// Retain after its last wrong code. Give Retain at least MaxLockout
	// (otpreset gives it 30 days or more): stores may drop a network's row
	// max(Retain, MaxLockout) after its last wrong code, so a Retain of 0
	// ("never by time" in NextAttempt) is not kept by every store.
	Attempts   int
	Lockout    time.Duration
	MaxLockout time.Duration
	Retain     time.Duration
	// Per phone, every network together: at most Budget wrong codes per
	// BudgetWindow at a steady rate, after a first burst of BudgetBurst. In
	// any BudgetWindow at most Budget + BudgetBurst codes are compared
	// without a solved captcha. Budget 0: no budget; BudgetBurst below 1
	// counts as 1.
	Budget       int
	BudgetBurst  int
	BudgetWindow time.Duration
}

// LockoutFor is the length of the n-th lockout (n >= 1) of a network since
// the phone's last success: Lockout doubled n-1 times, at most MaxLockout.
func (p GuessPolicy) LockoutFor(n int) time.Duration {
	d := p.Lockout
	for i := 1; i < n && d < p.MaxLockout; i++ {
		d *= 2
	}
	return min(d, p.MaxLockout)
}

// BudgetInterval is the budget's emission interval: BudgetWindow / Budget
// (0 without a budget).
func (p GuessPolicy) BudgetInterval() time.Duration {
	if p.Budget <= 0 || p.BudgetWindow <= 0 {
		return 0
	}
	return p.BudgetWindow / time.Duration(p.Budget)
}

// SendLimit is how many sends one network may ask for one phone per Period
// (a fixed window that starts at the first send). Limit 0: no limit.
type SendLimit struct {
	Limit  int
	Period time.Duration
}

// Issue is one send: the code to save, from which network, under which limit.
type Issue struct {
	// Challenge is a fresh code for its tenant and phone; it is saved
	// unless the phone holds a live code, which is kept instead.
	Challenge Challenge
	// Network is the client's network key (otpreset's per-IP key).
	Network string
	// SendLimit limits sends per phone and network; Policy.Retain of the
	// lockout does not apply to it.
	SendLimit SendLimit
	// NoUser: the phone has no user, so the send is counted and no code is
	// stored (IssueCode sets it; a CodeIssuer decides it itself).
	NoUser bool
}

// Issued is what a send found and did.
type Issued struct {
	// Limited: the network's send limit refused the send; nothing else
	// changed. SendsLeft and LimitResets describe the window either way.
	Limited     bool
	SendsLeft   int
	LimitResets time.Time
	// Challenge is the code in effect: the one saved, or the live one
	// kept. Zero when nothing was stored (limited, or no user).
	Challenge Challenge
	// User and Found: the phone's user, where the store looked it up
	// (IssueCode).
	User  User
	Found bool
}

// Attempt is one code presented for a phone from a client network.
type Attempt struct {
	Check   CodeCheck
	Network string
	Policy  GuessPolicy
	// PassLockout: the request carries a freshly solved captcha that the
	// tenant lets through a network's lockout (its captcha lockout type).
	PassLockout bool
	// PassBudget: the request carries a freshly solved captcha, which lets
	// it through a spent budget (every tenant with a captcha verifier).
	PassBudget bool
}

// Refusal says which counter refused an attempt before any comparison.
type Refusal int

const (
	// NotRefused: the code was compared.
	NotRefused Refusal = iota
	// RefusedLockout: the attempt's network is locked out of the phone.
	RefusedLockout
	// RefusedBudget: the phone's guessing budget is spent for now.
	RefusedBudget
)

// Verdict is what CheckCode decided.
type Verdict struct {
	// Refused, when not NotRefused, means nothing was compared or counted;
	// Until is when that refusal ends.
	Refused Refusal
	Until   time.Time
	// Code is the comparison's outcome: nil for the right, usable code (not
	// consumed), or an error wrapping ErrCodeMismatch, ErrNoChallenge,
	// ErrChallengeExpired, ErrChallengeUsed (the right code of a used
	// challenge, not counted) or ErrTooManyAttempts.
	Code error
	// Counted: the comparison failed and was counted; StartedLockout: it
	// started lockout number Lockouts of the network.
	Counted        bool
	StartedLockout bool
	Lockouts       int
}

// NetworkState is what a store keeps per tenant, phone and network.
type NetworkState struct {
	// Failures and Lockouts since the phone's last success; LockedUntil is
	// the end of the latest lockout (zero: none); Seen is the last wrong
	// code counted.
	Failures    int
	Lockouts    int
	LockedUntil time.Time
	Seen        time.Time
	// Sends in the window that ends at SendsReset.
	Sends      int
	SendsReset time.Time
}

// PhoneState is what a store keeps per tenant and phone for the budget:
// BudgetAt is the GCRA's theoretical arrival time (zero: never used).
type PhoneState struct {
	BudgetAt time.Time
}

// Counted reports whether a comparison's outcome is a failure the counters
// count: every one but the right code (usable, or of a used challenge: a
// concurrent success or a replay, which guesses nothing).
func Counted(code error) bool {
	return code != nil && !errors.Is(code, ErrChallengeUsed)
}

// NextAttempt is the pure step CheckCode applies. n and ph are the states
// before (zero for new keys); compare compares the code and is called only
// when the attempt is let through (it counts the code's own tries). It
// returns the states after and the verdict.
func NextAttempt(n NetworkState, ph PhoneState, a Attempt, compare func() error) (NetworkState, PhoneState, Verdict) {
	now, p := a.Check.Now, a.Policy
	if p.Retain > 0 && !n.Seen.IsZero() && !now.Before(n.Seen.Add(p.Retain)) {
		n.Failures, n.Lockouts, n.LockedUntil, n.Seen = 0, 0, time.Time{}, time.Time{}
	}
	if !n.LockedUntil.IsZero() && !now.Before(n.LockedUntil) {
		n.LockedUntil = time.Time{}
	}
	if !n.LockedUntil.IsZero() && !a.PassLockout {
		return n, ph, Verdict{Refused: RefusedLockout, Until: n.LockedUntil, Lockouts: n.Lockouts}
	}
	interval := p.BudgetInterval()
	tat := ph.BudgetAt
	if tat.Before(now) {
		tat = now
	}
	if tolerance := time.Duration(max(p.BudgetBurst, 1)) * interval; interval > 0 && tat.Sub(now) >= tolerance && !a.PassBudget {
		return n, ph, Verdict{Refused: RefusedBudget, Until: tat.Add(-tolerance).Add(time.Nanosecond), Lockouts: n.Lockouts}
	}
	v := Verdict{Code: compare(), Lockouts: n.Lockouts}
	if !Counted(v.Code) {
		return n, ph, v
	}
	v.Counted = true
	n.Failures++
	n.Seen = now
	if p.Attempts > 0 && n.Failures%p.Attempts == 0 {
		n.Lockouts++
		n.LockedUntil = now.Add(p.LockoutFor(n.Lockouts))
		v.StartedLockout = true
	}
	v.Lockouts = n.Lockouts
	if interval > 0 {
		ph.BudgetAt = tat.Add(interval)
	}
	return n, ph, v
}

// NextIssue is the pure step IssueChallenge applies to the network's state:
// the send counted, or refused by the limit. n is the state before (zero for
// a new key); now is the challenge's CreatedAt.
func NextIssue(n NetworkState, iss Issue) (NetworkState, Issued) {
	now, l := iss.Challenge.CreatedAt, iss.SendLimit
	if l.Limit <= 0 {
		return n, Issued{}
	}
	if !now.Before(n.SendsReset) {
		n.Sends, n.SendsReset = 0, now.Add(l.Period)
	}
	if n.Sends >= l.Limit {
		return n, Issued{Limited: true, LimitResets: n.SendsReset}
	}
	n.Sends++
	return n, Issued{SendsLeft: l.Limit - n.Sends, LimitResets: n.SendsReset}
}

// Live reports whether a saved challenge is still the phone's live code at
// now: unexpired, unused and with tries left. IssueChallenge keeps a live
// code rather than replacing it.
func Live(c Challenge, used bool, attempts int, now time.Time) bool {
	return !used && now.Before(c.ExpiresAt) && attempts < c.MaxAttempts
}
