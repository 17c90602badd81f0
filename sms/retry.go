package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"time"

	"github.com/otpreset/go/internal/scrub"
)

// defaultTimeout bounds one sender's turn in a Failover or ChannelFallback
// when none is configured.
const defaultTimeout = 10 * time.Second

// IsRetryable reports whether a send that failed with err may succeed if
// tried again: an error that says so itself (a method Retryable() bool, as
// *twilio.Error and *httpsender.Error have: HTTP 429 and 5xx), a timeout, a
// refused or reset connection. A cancelled context, a rejected number or bad
// credentials are not retryable.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// retryAfter returns the wait a provider asked for before the next try (its
// Retry-After header), found on err by a method RetryAfter() time.Duration.
func retryAfter(err error) (time.Duration, bool) {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		if d := r.RetryAfter(); d > 0 {
			return d, true
		}
	}
	return 0, false
}

// Retry is a Sender that tries Sender again when it fails with a retryable
// error (see IsRetryable): HTTP 429 and 5xx answers, timeouts, refused
// connections. Waits grow exponentially from BaseDelay, at most MaxDelay, and
// are never shorter than the provider's Retry-After (an error with a method
// RetryAfter() time.Duration, as *twilio.Error and *httpsender.Error have). It gives up at once
// when the provider asks for a wait longer than MaxDelay, when the context's
// deadline would pass during the wait, or when ctx is done.
//
// A failed message may have been delivered (a timeout after the provider
// accepted it): a retry can then deliver the code twice, which for a
// one-time code is harmless. Zero fields take the defaults documented on
// them; a Retry is safe for concurrent use.
type Retry struct {
	// Sender is the sender tried.
	Sender Sender
	// Attempts is the total number of tries, at least 1; default 3.
	Attempts int
	// BaseDelay is the wait after the first failure; it doubles after
	// each further one. Default 200ms.
	BaseDelay time.Duration
	// MaxDelay caps each wait; a Retry-After above it ends the retries.
	// Default 2s.
	MaxDelay time.Duration
	// AttemptTimeout bounds each try; 0 leaves it to the sender's own
	// timeout (every network sender in this module has one).
	AttemptTimeout time.Duration
	// Sleep waits d or until ctx is done (returning ctx.Err()); tests
	// inject a fake. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter spreads a wait d; default: uniformly in [d/2, d]. Tests set
	// it to the identity.
	Jitter func(d time.Duration) time.Duration
	// Clock tells the time, compared with ctx's deadline: any value with a
	// Now method, such as an otpreset.Clock. Nil means the system clock.
	Clock interface{ Now() time.Time }
	// Logger receives a warning per retry (phone masked, no code). Nil
	// means slog.Default().
	Logger *slog.Logger
}

// Send tries r.Sender until it succeeds, fails for good or runs out of
// attempts. The error is the last attempt's, wrapping ErrSendFailed.
func (r *Retry) Send(ctx context.Context, m Message) (Receipt, error) {
	attempts := r.Attempts
	if attempts < 1 {
		attempts = 3
	}
	for attempt := 1; ; attempt++ {
		rc, err := r.try(ctx, m)
		if err == nil {
			return rc, nil
		}
		if !errors.Is(err, ErrSendFailed) {
			err = fmt.Errorf("%w: %w", ErrSendFailed, err)
		}
		if attempt >= attempts || ctx.Err() != nil || !IsRetryable(err) {
			return Receipt{}, err
		}
		wait, ok := r.wait(ctx, attempt, err)
		if !ok {
			return Receipt{}, err
		}
		r.logger().LogAttrs(ctx, slog.LevelWarn, "sms: send failed, retrying",
			slog.String("to", MaskPhone(m.To)), slog.String("tenant", m.TenantID),
			slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", scrub.Error(err)))
		if serr := r.sleep(ctx, wait); serr != nil {
			return Receipt{}, fmt.Errorf("%w (retry abandoned: %w)", err, serr)
		}
	}
}

func (r *Retry) try(ctx context.Context, m Message) (Receipt, error) {
	if r.AttemptTimeout <= 0 {
		return r.Sender.Send(ctx, m)
	}
	actx, cancel := context.WithTimeout(ctx, r.AttemptTimeout)
	defer cancel()
	return r.Sender.Send(actx, m)
}

// wait returns the pause before the attempt after attempt, or false when
// retrying is pointless (Retry-After too long, deadline too near).
func (r *Retry) wait(ctx context.Context, attempt int, err error) (time.Duration, bool) {
	base, maxDelay := r.BaseDelay, r.MaxDelay
	if base <= 0 {
		base = 200 * time.Millisecond
	}
	if maxDelay <= 0 {
		maxDelay = 2 * time.Second
	}
	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	if r.Jitter != nil {
		d = r.Jitter(d)
	} else {
		d = d/2 + rand.N(d/2+1)
	}
	if ra, ok := retryAfter(err); ok {
		if ra > maxDelay {
			return 0, false
		}
		d = max(d, ra)
	}
	if dl, ok := ctx.Deadline(); ok {
		now := time.Now()
		if r.Clock != nil {
			now = r.Clock.Now()
		}
		if dl.Sub(now) <= d {
			return 0, false
		}
	}
	return d, true
}

func (r *Retry) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Retry) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}
