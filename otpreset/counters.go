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

// peek reports key's count under r without counting: reached means the
// next take would be refused.
func (l counters) peek(ctx context.Context, key string, r rate) (limitResult, error) {
	if r.off {
		return limitResult{}, nil
	}
	c, err := l.store.Peek(ctx, key, r.Rate)
	if err != nil {
		return limitResult{}, fmt.Errorf("otpreset: rate limit store: %w", err)
	}
	return limitResult{limit: c.Limit, remaining: c.Remaining, reset: time.Unix(c.Reset, 0), reached: c.Remaining == 0}, nil
}

// forget drops key's count (a take that must not stand).
func (l counters) forget(ctx context.Context, key string, r rate) error {
	if r.off {
		return nil
	}
	_, err := l.store.Reset(ctx, key, r.Rate)
	return err
}
