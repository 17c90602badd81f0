package redisstore_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ulule/limiter/v3"

	"github.com/otpreset/go/store/redisstore"
)

// TestLimiterSharedAcrossInstances: two limiters, each with its own Redis
// connection and limiter store (two servers), count against one limit.
func TestLimiterSharedAcrossInstances(t *testing.T) {
	t.Parallel()
	limiterShared(t, newClient(t), newClient(t))
}

// TestLimiterSharedAcrossInstancesCluster: the same on a Redis Cluster,
// where the counters of different keys live on different masters.
func TestLimiterSharedAcrossInstancesCluster(t *testing.T) {
	t.Parallel()
	limiterShared(t, newClusterClient(t), newClusterClient(t))
}

func limiterShared(t *testing.T, client1, client2 redis.UniversalClient) {
	ctx := context.Background()
	prefix := testPrefix(t, client1)
	rate, err := limiter.NewRateFromFormatted("5-H")
	require.NoError(t, err)
	newLimiter := func(c redis.UniversalClient) *limiter.Limiter {
		st, err := redisstore.NewLimiterStore(c, prefix)
		require.NoError(t, err)
		return limiter.New(st, rate)
	}
	a, b := newLimiter(client1), newLimiter(client2)

	const key = "send:tenant-a:+919999999999"
	steps := []struct {
		on            *limiter.Limiter
		wantRemaining int64
		wantReached   bool
	}{
		{a, 4, false},
		{b, 3, false},
		{a, 2, false},
		{b, 1, false},
		{b, 0, false},
		{a, 0, true},
		{b, 0, true},
	}
	for i, st := range steps {
		lc, err := st.on.Get(ctx, key)
		require.NoError(t, err, "step %d", i)
		assert.Equal(t, int64(5), lc.Limit, "step %d", i)
		assert.Equal(t, st.wantRemaining, lc.Remaining, "step %d remaining", i)
		assert.Equal(t, st.wantReached, lc.Reached, "step %d reached", i)
	}

	// Other keys count separately; Peek on either instance sees the shared count.
	lc, err := b.Get(ctx, "send:tenant-a:+14155550123")
	require.NoError(t, err)
	assert.Equal(t, int64(4), lc.Remaining)
	lc, err = b.Peek(ctx, key)
	require.NoError(t, err)
	assert.True(t, lc.Reached)

	// The counters live under the prefix, with the rate's period as TTL.
	keys, err := keysMatching(ctx, client1, prefix+"limit:*")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{prefix + "limit:" + key, prefix + "limit:send:tenant-a:+14155550123"}, keys)
	ttl, err := client1.PTTL(ctx, prefix+"limit:"+key).Result()
	require.NoError(t, err)
	assert.Positive(t, ttl)
	assert.LessOrEqual(t, ttl, rate.Period)
}
