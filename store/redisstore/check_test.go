package redisstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/internal/servertest"
	"github.com/otpreset/go/store"
)

func TestCheckSlots(t *testing.T) {
	require.NoError(t, checkSlots([]slotRange{{0, 5460, true}, {5461, 16383, true}}))
	err := checkSlots([]slotRange{{0, 99, true}, {100, 100, false}, {101, 16382, true}})
	require.EqualError(t, err, "the cluster's slot map gives no online master to slots 100, 16383")
	err = checkSlots(nil)
	require.EqualError(t, err, "the cluster's slot map gives no online master to slots 0-16383")
	var many []slotRange
	for i := 0; i < clusterSlots; i += 2 {
		many = append(many, slotRange{i, i, true})
	}
	assert.ErrorContains(t, checkSlots(many), "slots 1, 3, 5, 7, 9, and 8187 more ranges")
}

// TestSlotRanges: the real cluster's map, read with CLUSTER SHARDS, gives
// every slot to an online master.
func TestSlotRanges(t *testing.T) {
	t.Parallel()
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(servertest.URL(t, servertest.RedisClusterAddrsEnv), ",")})
	t.Cleanup(func() { _ = cluster.Close() })
	ranges, err := slotRanges(checkCtx(t), cluster)
	require.NoError(t, err)
	n := 0
	for _, r := range ranges {
		require.True(t, r.master, "slots %d-%d", r.start, r.end)
		n += r.end - r.start + 1
	}
	assert.Equal(t, clusterSlots, n)
}

func checkCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestCheck: ready on the real server and the real cluster; not ready,
// wrapping store.ErrNotReady, when nothing answers, and when a cluster
// client is pointed at a server that is not a cluster.
func TestCheck(t *testing.T) {
	t.Parallel()
	opt, err := redis.ParseURL(servertest.URL(t, servertest.RedisURLEnv))
	require.NoError(t, err)
	single := redis.NewClient(opt)
	t.Cleanup(func() { _ = single.Close() })
	addrs := servertest.URL(t, servertest.RedisClusterAddrsEnv)
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
	t.Cleanup(func() { _ = cluster.Close() })
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = down.Close() })
	notCluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{opt.Addr}, MaxRedirects: -1})
	t.Cleanup(func() { _ = notCluster.Close() })

	for _, c := range []struct {
		name   string
		client redis.UniversalClient
		want   string
	}{
		{"server", single, ""},
		{"cluster", cluster, ""},
		{"nothing listening", down, "ping"},
		{"cluster client on a plain server", notCluster, "cluster"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(c.client, Config{})
			require.NoError(t, err)
			err = s.Check(checkCtx(t))
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, store.ErrNotReady)
			require.ErrorContains(t, err, c.want)
			t.Log(err)
		})
	}
}
