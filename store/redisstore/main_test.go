package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/internal/servertest"
	"github.com/otpreset/go/store/redisstore"
)

// The tests need a Redis server named by OTPRESET_REDIS_URL
// (redis://127.0.0.1:6379/0). Without it they skip, unless CI is set, in
// which case they fail: CI must never go green by skipping the Redis tests.
const redisURLEnv = servertest.RedisURLEnv

func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv(redisURLEnv) == "" && os.Getenv("CI") == "" {
		// Examples cannot skip themselves; keep them from running (and
		// failing on a missing server) the way -skip would.
		skip := "^Example"
		if prev := flag.Lookup("test.skip").Value.String(); prev != "" {
			skip = prev + "|" + skip
		}
		if err := flag.Set("test.skip", skip); err != nil {
			fmt.Fprintln(os.Stderr, "redisstore: cannot skip examples:", err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "redisstore: %s is not set: skipping the Redis tests and examples\n", redisURLEnv)
	}
	servertest.Main(m, "store/redisstore")
}

// newClient connects to the test Redis, or skips (fails under CI).
func newClient(t testing.TB) *redis.Client {
	t.Helper()
	url := servertest.URL(t, redisURLEnv)
	opt, err := redis.ParseURL(url)
	require.NoError(t, err, "parse %s", redisURLEnv)
	opt.PoolSize = 64
	client := redis.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, client.Ping(ctx).Err(), "ping the Redis at %s", redisURLEnv)
	return client
}

// testPrefix returns a key prefix unique to this test and deletes every key
// under it when the test ends.
func testPrefix(t testing.TB, client redis.UniversalClient) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "otpreset-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() { deleteAll(t, client, prefix) })
	return prefix
}

func deleteAll(t testing.TB, client redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := keysMatching(ctx, client, prefix+"*")
	if err != nil {
		t.Errorf("scan %s*: %v", prefix, err)
		return
	}
	// One DEL per key: on a cluster, keys of different slots cannot share
	// a command.
	for _, k := range keys {
		if err := client.Del(ctx, k).Err(); err != nil {
			t.Errorf("delete test keys: %v", err)
			return
		}
	}
}

// keysMatching lists the keys matching pattern on a single server, or on
// every master of a cluster (SCAN on a ClusterClient asks one node only).
func keysMatching(ctx context.Context, client redis.UniversalClient, pattern string) ([]string, error) {
	var (
		mu   sync.Mutex
		keys []string
	)
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	if cc, ok := client.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, client)
	}
	return keys, err
}

// newClusterClient connects to the test Redis Cluster named by
// OTPRESET_REDIS_CLUSTER_ADDRS, or skips (fails under CI).
func newClusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	addrs := servertest.URL(t, servertest.RedisClusterAddrsEnv)
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ","), PoolSize: 64})
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, client.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
		return c.Ping(ctx).Err()
	}), "ping every node of the cluster at %s", servertest.RedisClusterAddrsEnv)
	return client
}

// newClusterStore is newStore on the test Redis Cluster.
func newClusterStore(t testing.TB, cfg redisstore.Config) (*redisstore.Store, *redis.ClusterClient, string) {
	t.Helper()
	client := newClusterClient(t)
	cfg.Prefix = testPrefix(t, client)
	s, err := redisstore.New(client, cfg)
	require.NoError(t, err)
	return s, client, cfg.Prefix
}

// newStore returns a Store on the test Redis under a fresh prefix, with the
// client (to inspect keys) and the prefix.
func newStore(t testing.TB, cfg redisstore.Config) (*redisstore.Store, *redis.Client, string) {
	t.Helper()
	client := newClient(t)
	cfg.Prefix = testPrefix(t, client)
	s, err := redisstore.New(client, cfg)
	require.NoError(t, err)
	return s, client, cfg.Prefix
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}
