package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/otpreset/go/store"
)

// Guesses is an in-memory store.Guesses: one process's guessing budget. The
// zero value is ready to use. A Store embeds one; otpreset also uses one on
// its own when the host's store keeps no budget (counted per instance and
// lost on restart, as it warns).
type Guesses struct {
	mu     sync.Mutex
	states map[store.GuessKey]guessState
	// sweepAt is the size at which forgotten keys are swept, so the map is
	// bounded by the keys seen within one Retain.
	sweepAt int
}

type guessState struct {
	store.Guess
	seen   time.Time     // last TakeGuess
	retain time.Duration // the policy's Retain then
}

// TakeGuess implements store.Guesses.
func (g *Guesses) TakeGuess(_ context.Context, k store.GuessKey, now time.Time, p store.GuessPolicy, pastLock bool) (store.Guess, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.live(k, now)
	next := store.NextGuess(st.Guess, now, p, pastLock)
	if next.Allowed {
		g.put(k, guessState{Guess: next, seen: now, retain: p.Retain}, now)
	}
	return next, nil
}

// ReturnGuess implements store.Guesses.
func (g *Guesses) ReturnGuess(_ context.Context, k store.GuessKey, took store.Guess) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if st, ok := g.states[k]; ok {
		st.Guess = store.ReturnedGuess(st.Guess, took)
		g.states[k] = st
	}
	return nil
}

// PeekGuesses implements store.Guesses.
func (g *Guesses) PeekGuesses(_ context.Context, k store.GuessKey, now time.Time) (store.Guess, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.live(k, now).Guess
	if !st.LockedUntil.IsZero() && !now.Before(st.LockedUntil) {
		st.LockedUntil = time.Time{}
	}
	st.Allowed, st.StartedLockout = false, false
	return st, nil
}

// ClearGuesses implements store.Guesses.
func (g *Guesses) ClearGuesses(_ context.Context, k store.GuessKey) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.states, k)
	return nil
}

// live is k's state, or the zero state when it was never seen or forgotten.
func (g *Guesses) live(k store.GuessKey, now time.Time) guessState {
	st, ok := g.states[k]
	if !ok || (st.retain > 0 && now.Sub(st.seen) >= st.retain) {
		return guessState{}
	}
	return st
}

func (g *Guesses) put(k store.GuessKey, st guessState, now time.Time) {
	if g.states == nil {
		g.states = map[store.GuessKey]guessState{}
	}
	g.states[k] = st
	if len(g.states) < max(g.sweepAt, 1024) {
		return
	}
	for key, s := range g.states {
		if s.retain > 0 && now.Sub(s.seen) >= s.retain {
			delete(g.states, key)
		}
	}
	g.sweepAt = 2 * len(g.states)
}
