package redisstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/internal/servers"
	"github.com/otpreset/go/store"
)

func TestCheckSlots(t *testing.T) {
	node := []redis.ClusterNode{{Addr: "127.0.0.1:7000"}}
	require.NoError(t, checkSlots([]redis.ClusterSlot{{Start: 0, End: 5460, Nodes: node}, {Start: 5461, End: 16383, Nodes: node}}))
	err := checkSlots([]redis.ClusterSlot{{Start: 0, End: 99, Nodes: node}, {Start: 100, End: 100}, {Start: 101, End: 16382, Nodes: node}})
	require.EqualError(t, err, "the cluster's slot map gives no master to slots 100, 16383")
	err = checkSlots(nil)
	require.EqualError(t, err, "the cluster's slot map gives no master to slots 0-16383")
	var many []redis.ClusterSlot
	for i := 0; i < clusterSlots; i += 2 {
		many = append(many, redis.ClusterSlot{Start: i, End: i, Nodes: node})
	}
	assert.ErrorContains(t, checkSlots(many), "slots 1, 3, 5, 7, 9, and 8187 more ranges")
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
	opt, err := redis.ParseURL(servers.URL(t, servers.RedisURLEnv))
	require.NoError(t, err)
	single := redis.NewClient(opt)
	t.Cleanup(func() { _ = single.Close() })
	addrs := servers.URL(t, servers.RedisClusterAddrsEnv)
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
