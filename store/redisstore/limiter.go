package redisstore

import (
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	sredis "github.com/ulule/limiter/v3/drivers/store/redis"
)

// NewLimiterStore returns a github.com/ulule/limiter/v3 store kept in Redis,
// so that every instance of the application counts against the same limits
// (sends per phone, wrong codes per phone, requests per IP address). It wraps
// limiter's drivers/store/redis: each counter is a Redis string incremented
// by a Lua script and expiring with the rate's period.
//
// Counter keys are <prefix>limit:<limiter key>; an empty prefix means
// DefaultPrefix, so with the defaults a Store and its limiter store share the
// "otpreset:" namespace without colliding.
//
// Unlike New, NewLimiterStore talks to Redis: it loads the limiter's scripts
// and fails if Redis cannot be reached.
func NewLimiterStore(client redis.UniversalClient, prefix string) (limiter.Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil Redis client", ErrInvalidConfig)
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("%w: prefix %q contains '{' or '}'", ErrInvalidConfig, prefix)
	}
	// The driver writes Prefix + ":" + key.
	st, err := sredis.NewStoreWithOptions(client, limiter.StoreOptions{Prefix: prefix + "limit"})
	if err != nil {
		return nil, fmt.Errorf("redisstore: limiter store: %w", err)
	}
	return st, nil
}
