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

	"github.com/otpreset/go/internal/servertest"
)

// TestScriptsUseOneSlot proves on a real Redis Cluster that every key a
// script touches, whether passed in KEYS or built inside the script from an
// ARGV prefix, lies in one hash slot: a phone's challenge and counters in
// the phone's slot, a tenant's sessions in the tenant's. As a control, the
// same scripts on the same keys with the hash-tag braces removed are refused
// by the cluster (CROSSSLOT, or the cross-slot error of a script), so this
// test fails if a key ever loses its tag.
func TestScriptsUseOneSlot(t *testing.T) {
	t.Parallel()
	addrs := servertest.URL(t, servertest.RedisClusterAddrsEnv)
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
	controls := 0

	for _, tenant := range []string{"tenant-a", "", "a{b}c%", "租户"} {
		hashes := [][]byte{[]byte("access-token-hash-1"), []byte("access-token-hash-2")}
		keys := []string{
			s.sessionKey(tenant, hashes[0]),
			s.sessionKey(tenant, hashes[1]),
			s.userSessionsKey(tenant, "user-1"),
			s.userSessionsKey(tenant, "user-2"),
		}
		sameSlot(ctx, t, client, keys...)
		for _, k := range keys {
			written = append(written, k, untag(k))
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

		// A phone's scripts touch its challenge and its counters, in the
		// phone's slot, whatever the tenant and the phone hold.
		for _, ph := range []string{"+919999999999", "", "a{b}c", "}{", "x:y%"} {
			code, counters := s.challengeKey(tenant, ph), s.countersKey(tenant, ph)
			sameSlot(ctx, t, client, code, counters)
			written = append(written, code, counters, untag(code), untag(counters))
			issue := func(tag func(string) string) error {
				return issueScript.Run(ctx, client, []string{tag(counters), tag(code)},
					"n:net", 3, 900, 0, time.Now().Unix(), 0, 0, 64,
					"hash", "nonce", 5, time.Now().Unix()+300, 0, 60000, "created", "expires").Err()
			}
			check := func(tag func(string) string) error {
				return checkScript.Run(ctx, client, []string{tag(counters), tag(code)},
					"n:net", time.Now().Unix(), 0, 5, 1, 3600, 0, 3600, 0,
					1, 360, 0, 360, 0, -360, 1, 0, 0, "wrong", 64, 900, 0).Err()
			}
			consume := func(tag func(string) string) error {
				return consumeScript.Run(ctx, client, []string{tag(code)}, "hash", time.Now().Unix(), 0).Err()
			}
			require.NoError(t, issue(same), "tenant %q phone %q: issue", tenant, ph)
			require.NoError(t, check(same), "tenant %q phone %q: check", tenant, ph)
			require.NoError(t, consume(same), "tenant %q phone %q: consume", tenant, ph)
			n, err := client.Exists(ctx, code, counters).Result()
			require.NoError(t, err)
			require.Equal(t, int64(2), n, "tenant %q phone %q: the scripts wrote both keys", tenant, ph)

			// Control: untagged, the two keys are in two slots (of this
			// prefix, chosen so) and the scripts are refused.
			if slotOf(ctx, t, client, untag(code)) == slotOf(ctx, t, client, untag(counters)) {
				continue
			}
			controls++
			for name, run := range map[string]func(func(string) string) error{"issue": issue, "check": check} {
				err := run(untag)
				require.Error(t, err, "tenant %q phone %q: a cross-slot %s must be refused", tenant, ph, name)
				assert.Contains(t, err.Error(), "CROSSSLOT", "tenant %q phone %q: %s", tenant, ph, name)
			}
		}
	}
	require.Positive(t, controls, "no phone's untagged keys fell in two slots: the control proved nothing")

	// Each phone has a slot of its own: a tenant's phones spread over the
	// cluster rather than all landing on one shard.
	slots := map[int64]bool{}
	for i := range 20 {
		slots[slotOf(ctx, t, client, s.countersKey("tenant-a", "+1415555"+strconv.Itoa(1000+i)))] = true
	}
	assert.Greater(t, len(slots), 10, "20 phones of one tenant in %d slots", len(slots))
}

func sameSlot(ctx context.Context, t *testing.T, c *redis.ClusterClient, keys ...string) {
	t.Helper()
	want := slotOf(ctx, t, c, keys[0])
	for _, k := range keys[1:] {
		assert.Equal(t, want, slotOf(ctx, t, c, k), "%s is not in the slot of %s", k, keys[0])
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
