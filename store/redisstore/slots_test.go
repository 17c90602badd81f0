package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/internal/servers"
)

// TestScriptsUseOneSlot proves on a real Redis Cluster that every key a
// script touches, whether passed in KEYS or built inside the script from an
// ARGV prefix, lies in the tenant's one hash slot (codes, sessions and the
// guessing budget alike). As a control, the same scripts on the same keys
// with the hash-tag braces removed are refused by the cluster (CROSSSLOT, or
// the cross-slot error of a script), so this test fails if a key ever loses
// its tag.
func TestScriptsUseOneSlot(t *testing.T) {
	t.Parallel()
	addrs := servers.URL(t, servers.RedisClusterAddrsEnv)
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	s, err := New(client, Config{Prefix: "otpreset-slots-" + hex.EncodeToString(b) + ":"})
	require.NoError(t, err)

	var written []string
	t.Cleanup(func() {
		for _, k := range written {
			_ = client.Del(context.Background(), k).Err()
		}
	})
	untag := strings.NewReplacer("{", "", "}", "").Replace

	for _, tenant := range []string{"tenant-a", "", "a{b}c%", "租户"} {
		hashes := [][]byte{[]byte("access-token-hash-1"), []byte("access-token-hash-2")}
		keys := []string{
			s.challengeKey(tenant, "+919999999999"),
			s.challengeKey(tenant, "+14155550123"),
			s.sessionKey(tenant, hashes[0]),
			s.sessionKey(tenant, hashes[1]),
			s.userSessionsKey(tenant, "user-1"),
			s.userSessionsKey(tenant, "user-2"),
			s.guessKey(tenant, "+919999999999"),
			s.guessKey(tenant, "+14155550123"),
		}
		slot, err := client.ClusterKeySlot(ctx, keys[0]).Result()
		require.NoError(t, err)
		for _, k := range keys {
			written = append(written, k, untag(k))
			got, err := client.ClusterKeySlot(ctx, k).Result()
			require.NoError(t, err)
			assert.Equal(t, slot, got, "tenant %q: %s is not in the slot of %s", tenant, k, keys[0])
		}

		// The session scripts are the ones that touch several keys.
		create := func(tag func(string) string, h []byte) error {
			return createSessionScript.Run(ctx, client,
				[]string{tag(s.sessionKey(tenant, h)), tag(s.userSessionsKey(tenant, "user-1"))},
				hex.EncodeToString(h), 60000, tag(s.sessionKeyPrefix(tenant)),
				"sid", "user-1", h, []byte("refresh"), "created", "expires",
			).Err()
		}
		revoke := func(tag func(string) string) (int, error) {
			return revokeSessionsScript.Run(ctx, client,
				[]string{tag(s.userSessionsKey(tenant, "user-1"))},
				tag(s.sessionKeyPrefix(tenant)), "user-1",
			).Int()
		}
		same := func(k string) string { return k }
		for _, h := range hashes {
			require.NoError(t, create(same, h), "tenant %q: create session", tenant)
		}
		n, err := revoke(same)
		require.NoError(t, err, "tenant %q: revoke sessions", tenant)
		assert.Equal(t, 2, n, "tenant %q", tenant)

		// The guessing budget's scripts touch the one key they are given,
		// in the slot of the phone's code.
		guess := s.guessKey(tenant, "+919999999999")
		require.NoError(t, takeGuessScript.Run(ctx, client, []string{guess},
			time.Now().Unix(), 0, 5, 0, 3600, 0, 3600000, 900, 0).Err(), "tenant %q: take guess", tenant)
		require.NoError(t, returnGuessScript.Run(ctx, client, []string{guess}, 0, 0).Err(), "tenant %q: return guess", tenant)

		// Control: without the tag the keys scatter over the slots and the
		// cluster refuses the scripts.
		require.NotEqual(t, slotOf(ctx, t, client, untag(s.sessionKey(tenant, hashes[0]))),
			slotOf(ctx, t, client, untag(s.userSessionsKey(tenant, "user-1"))),
			"the control needs keys in two slots")
		err = create(untag, hashes[0])
		require.Error(t, err, "tenant %q: a cross-slot create must be refused", tenant)
		assert.Contains(t, err.Error(), "CROSSSLOT")
		// The revoke script is given one key and finds the sessions from the
		// ARGV prefix. Redis 7 lets a script without flags reach undeclared
		// keys of other slots on the same node, so the control puts the
		// session on another master than the set: that is always refused.
		// The session is put in place with single-key commands.
		set := untag(s.userSessionsKey(tenant, "user-1"))
		var h []byte
		for i := 0; h == nil; i++ {
			require.Less(t, i, 1000, "no token hash found whose key is on another master")
			c := []byte("access-token-hash-" + strconv.Itoa(i))
			if masterOf(ctx, t, client, untag(s.sessionKey(tenant, c))) != masterOf(ctx, t, client, set) {
				h = c
			}
		}
		sess := untag(s.sessionKey(tenant, h))
		written = append(written, sess)
		require.NoError(t, client.SAdd(ctx, set, hex.EncodeToString(h)).Err())
		require.NoError(t, client.HSet(ctx, sess, "user", "user-1").Err())
		_, err = revoke(untag)
		require.Error(t, err, "tenant %q: a script reaching into another slot must be refused", tenant)
	}
}

func masterOf(ctx context.Context, t *testing.T, c *redis.ClusterClient, key string) string {
	t.Helper()
	node, err := c.MasterForKey(ctx, key)
	require.NoError(t, err)
	return node.Options().Addr
}

func slotOf(ctx context.Context, t *testing.T, c *redis.ClusterClient, key string) int64 {
	t.Helper()
	slot, err := c.ClusterKeySlot(ctx, key).Result()
	require.NoError(t, err)
	return slot
}
