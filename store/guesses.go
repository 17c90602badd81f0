package store

import (
	"context"
	"time"
)

// GuessKey names whose guesses are counted: a tenant and a phone (E.164),
// whether or not the phone belongs to a user.
type GuessKey struct {
	TenantID string
	Phone    string
}

// GuessPolicy is the lockout ladder of the guessing budget. Every Attempts
// failed codes start a lockout; the n-th lockout since the last successful
// reset lasts LockoutFor(n): Lockout, then twice as long each time, up to
// MaxLockout. State that sees no guess for Retain is forgotten.
type GuessPolicy struct {
	Attempts   int
	Lockout    time.Duration
	MaxLockout time.Duration
	Retain     time.Duration
}

// LockoutFor is the length of the n-th lockout (n >= 1) since the last
// success: Lockout doubled n-1 times, at most MaxLockout.
func (p GuessPolicy) LockoutFor(n int) time.Duration {
	d := p.Lockout
	for i := 1; i < n && d < p.MaxLockout; i++ {
		d *= 2
	}
	return min(d, p.MaxLockout)
}

// Guess is the state of a key's guessing budget, as TakeGuess or PeekGuesses
// found it.
type Guess struct {
	// Allowed: TakeGuess counted one more failure in advance, and the code
	// may be compared.
	Allowed bool
	// Failures counted since the last success (this guess included when
	// Allowed), and Lockouts started since then.
	Failures int
	Lockouts int
	// LockedUntil is when the current lockout ends; zero when the key is not
	// locked at the time asked.
	LockedUntil time.Time
	// StartedLockout: this guess reached a multiple of Attempts and started
	// lockout number Lockouts.
	StartedLockout bool
}

// Guesses keeps the guessing budget of each tenant and phone: the failed
// codes since the last successful reset, across new codes, lockouts,
// restarts and instances (so it must live in the shared store), and the
// escalating lockout they lead to. Every method is atomic per key; the
// conformance suite (storetest) checks it under concurrency.
//
// A guess is counted before the code is compared, in the same atomic step
// that decides whether the key is locked, so that N concurrent requests can
// never make more comparisons than the budget allows. A comparison that
// turns out not to be a guess (the right code) is given back with
// ReturnGuess.
type Guesses interface {
	// TakeGuess decides whether one more code may be compared for key at
	// now and, if so, counts it as a failure (Allowed true). A locked key
	// refuses (Allowed false, nothing counted, LockedUntil set) unless
	// pastLock is true, which the caller sets when the request carries a
	// freshly verified captcha (the captcha lockout type): then the guess is
	// counted and allowed. Reaching a multiple of p.Attempts starts the next
	// lockout, p.LockoutFor(Lockouts) long from now.
	TakeGuess(ctx context.Context, key GuessKey, now time.Time, p GuessPolicy, pastLock bool) (Guess, error)
	// ReturnGuess gives back a guess TakeGuess counted (took is what it
	// answered): one failure fewer and, when took started a lockout that is
	// still the latest, that lockout lifted.
	ReturnGuess(ctx context.Context, key GuessKey, took Guess) error
	// PeekGuesses reports key's state at now without counting anything.
	PeekGuesses(ctx context.Context, key GuessKey, now time.Time) (Guess, error)
	// ClearGuesses forgets key's failures and lockouts: after a successful
	// reset, or when an operator lifts a lockout.
	ClearGuesses(ctx context.Context, key GuessKey) error
}

// GuessesOf returns the Guesses s keeps, if it keeps them: s itself, or the
// Guesses field of a Composite, also one embedded in a host's own type (whose
// method set holds Composite's promoted Guesses methods even when the field
// is nil: the Composite decides, not the method set).
func GuessesOf(s Store) (Guesses, bool) {
	if c, ok := s.(interface{ guessesPart() Guesses }); ok {
		g := c.guessesPart()
		return g, g != nil
	}
	g, ok := s.(Guesses)
	return g, ok
}

// guessesPart is the Guesses a Composite was given, nil when none. It is
// promoted to every type that embeds a Composite, so GuessesOf finds it there.
func (c Composite) guessesPart() Guesses { return c.Guesses }

// NextGuess is the pure step TakeGuess applies to a key's state: adapters
// that keep the state as values (memory, a row read under a lock, a Lua
// script) compute the same answer. g is the state before (zero for a new
// key); the result is the state after and what TakeGuess answers.
func NextGuess(g Guess, now time.Time, p GuessPolicy, pastLock bool) Guess {
	if !g.LockedUntil.IsZero() && !now.Before(g.LockedUntil) {
		g.LockedUntil = time.Time{}
	}
	g.StartedLockout = false
	if !g.LockedUntil.IsZero() && !pastLock {
		g.Allowed = false
		return g
	}
	g.Allowed = true
	g.Failures++
	if p.Attempts > 0 && g.Failures%p.Attempts == 0 {
		g.Lockouts++
		g.LockedUntil = now.Add(p.LockoutFor(g.Lockouts))
		g.StartedLockout = true
	}
	return g
}

// ReturnedGuess is the pure step ReturnGuess applies: g is the state now,
// took what TakeGuess answered.
func ReturnedGuess(g, took Guess) Guess {
	if g.Failures > 0 {
		g.Failures--
	}
	if took.StartedLockout && g.Lockouts == took.Lockouts && g.Lockouts > 0 {
		g.Lockouts--
		g.LockedUntil = time.Time{}
	}
	g.Allowed, g.StartedLockout = false, false
	return g
}
