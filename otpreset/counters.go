package otpreset

import (
	"context"
	"fmt"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
)

// counters counts requests and failed codes in a limiter.Store: in memory by
// default, or shared across instances (redisstore.NewLimiterStore).
type counters struct{ store limiter.Store }

func newCounters(s limiter.Store) counters {
	if s == nil {
		s = memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: "otpreset", CleanUpInterval: time.Minute})
	}
	return counters{store: s}
}

// limitResult is the outcome of counting one request.
type limitResult struct {
	limit, remaining int64
	reset            time.Time
	reached          bool
}

// take counts one request against key under r.
func (l counters) take(ctx context.Context, key string, r rate) (limitResult, error) {
	if r.off {
		return limitResult{}, nil
	}
	c, err := l.store.Get(ctx, key, r.Rate)
	if err != nil {
		return limitResult{}, fmt.Errorf("otpreset: rate limit store: %w", err)
	}
	return limitResult{limit: c.Limit, remaining: c.Remaining, reset: time.Unix(c.Reset, 0), reached: c.Reached}, nil
}

// locked returns whether key has p.attempts failures in the window, and
// until when.
func (l counters) locked(ctx context.Context, key string, p lockoutPolicy) (bool, time.Time, error) {
	c, err := l.store.Peek(ctx, key, p.rate())
	if err != nil {
		return false, time.Time{}, fmt.Errorf("otpreset: lockout store: %w", err)
	}
	return c.Remaining == 0, time.Unix(c.Reset, 0), nil
}

// fail records one failed code for key; it reports whether the key is now
// locked.
func (l counters) fail(ctx context.Context, key string, p lockoutPolicy) (bool, error) {
	c, err := l.store.Get(ctx, key, p.rate())
	if err != nil {
		return false, fmt.Errorf("otpreset: lockout store: %w", err)
	}
	return c.Remaining == 0, nil
}

// clear forgets key's failures (after a successful reset).
func (l counters) clear(ctx context.Context, key string, p lockoutPolicy) error {
	_, err := l.store.Reset(ctx, key, p.rate())
	return err
}

func (p lockoutPolicy) rate() limiter.Rate {
	return limiter.Rate{Formatted: "lockout", Period: p.window, Limit: int64(p.attempts)}
}

func lockoutKey(tenantID, phone string) string { return "lock:" + tenantID + ":" + phone }
