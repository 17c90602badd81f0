package password

import (
	"context"
	"crypto/sha1" //nolint:gosec // SHA-1 is the breach corpora's lookup key, not a password hash.
	"errors"
)

// ErrUnavailable: a breach checker could not give an answer (the service
// timed out, failed or answered something unreadable). Only returned when
// the checker fails closed.
var ErrUnavailable = errors.New("password: breach checker unavailable")

// BreachChecker tells whether a password appears in a breach corpus.
//
// otpreset passes the normalised password returned by Policy.Check. An
// implementation must never log, store or send the password or its full
// hash.
type BreachChecker interface {
	// Breached reports whether pw is known to be breached. An error means no
	// answer could be had; it wraps ErrUnavailable (or the context's error
	// when ctx ended first).
	Breached(ctx context.Context, pw string) (bool, error)
}

// BreachCheckerFunc adapts a function to BreachChecker.
type BreachCheckerFunc func(ctx context.Context, pw string) (bool, error)

// Breached calls f.
func (f BreachCheckerFunc) Breached(ctx context.Context, pw string) (bool, error) {
	return f(ctx, pw)
}

// Any returns a BreachChecker that asks each checker in order and reports a
// breach as soon as one does. If none does and at least one failed, it
// returns false and the failures joined (matchable with errors.Is). Put cheap
// local checkers (a List) before remote ones (HIBP): a local hit saves the
// request. Nil checkers are skipped.
func Any(checkers ...BreachChecker) BreachChecker {
	cs := make([]BreachChecker, 0, len(checkers))
	for _, c := range checkers {
		if c != nil {
			cs = append(cs, c)
		}
	}
	return BreachCheckerFunc(func(ctx context.Context, pw string) (bool, error) {
		var errs []error
		for _, c := range cs {
			breached, err := c.Breached(ctx, pw)
			if breached {
				return true, nil
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
		return false, errors.Join(errs...)
	})
}

// digest is the SHA-1 of the password's UTF-8 bytes, the key of the Pwned
// Passwords corpus.
func digest(pw string) [sha1.Size]byte {
	return sha1.Sum([]byte(pw)) //nolint:gosec // see import
}
