package redisstore_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/redisstore"
)

func session(t testing.TB, tenant, user string, life time.Duration) store.Session {
	return store.Session{
		ID:               "sess-" + hex.EncodeToString(randomBytes(t, 4)),
		TenantID:         tenant,
		UserID:           user,
		AccessTokenHash:  randomBytes(t, 32),
		RefreshTokenHash: randomBytes(t, 32),
		CreatedAt:        base,
		ExpiresAt:        base.Add(life),
	}
}

func TestSessionLookup(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, redisstore.Config{})
	ctx := context.Background()
	sess := session(t, tenantA, "user-1", time.Hour)
	sess.AccessTokenHash[0], sess.RefreshTokenHash[1] = 0, 0xff // binary, not text
	sess.ExpiresAt = sess.ExpiresAt.Add(123456789 * time.Nanosecond)
	require.NoError(t, s.CreateSession(ctx, sess))

	tests := []struct {
		name   string
		tenant string
		hash   []byte
		now    time.Time
		found  bool
	}{
		{"live", tenantA, sess.AccessTokenHash, base.Add(time.Minute), true},
		{"last nanosecond", tenantA, sess.AccessTokenHash, sess.ExpiresAt.Add(-time.Nanosecond), true},
		{"expired by now", tenantA, sess.AccessTokenHash, sess.ExpiresAt, false},
		{"other tenant", tenantB, sess.AccessTokenHash, base, false},
		{"refresh hash is not an access token", tenantA, sess.RefreshTokenHash, base, false},
		{"unknown token", tenantA, randomBytes(t, 32), base, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.LookupSession(ctx, tt.tenant, tt.hash, tt.now)
			if !tt.found {
				require.ErrorIs(t, err, store.ErrNotFound)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, sess.ID, got.ID)
			assert.Equal(t, sess.TenantID, got.TenantID)
			assert.Equal(t, sess.UserID, got.UserID)
			assert.Equal(t, sess.AccessTokenHash, got.AccessTokenHash)
			assert.Equal(t, sess.RefreshTokenHash, got.RefreshTokenHash)
			assert.True(t, sess.CreatedAt.Equal(got.CreatedAt), "CreatedAt %v", got.CreatedAt)
			assert.True(t, sess.ExpiresAt.Equal(got.ExpiresAt), "ExpiresAt %v", got.ExpiresAt)
		})
	}
}

func TestRevokeSessions(t *testing.T) {
	t.Parallel()
	s, client, prefix := newStore(t, redisstore.Config{})
	ctx := context.Background()
	mine := []store.Session{
		session(t, tenantA, "user-1", time.Hour),
		session(t, tenantA, "user-1", 2*time.Hour),
		session(t, tenantA, "user-1", 30*time.Minute),
	}
	others := []store.Session{
		session(t, tenantA, "user-2", time.Hour),
		session(t, tenantB, "user-1", time.Hour), // same user id, other tenant
	}
	for _, sess := range append(append([]store.Session(nil), mine...), others...) {
		require.NoError(t, s.CreateSession(ctx, sess))
	}

	n, err := s.RevokeSessions(ctx, tenantA, "user-1")
	require.NoError(t, err)
	assert.Equal(t, len(mine), n)
	for _, sess := range mine {
		_, err := s.LookupSession(ctx, tenantA, sess.AccessTokenHash, base)
		require.ErrorIs(t, err, store.ErrNotFound, sess.ID)
	}
	for _, sess := range others {
		_, err := s.LookupSession(ctx, sess.TenantID, sess.AccessTokenHash, base)
		require.NoError(t, err, "%s of %s/%s must survive", sess.ID, sess.TenantID, sess.UserID)
	}
	// Nothing of user-1 in tenant A is left in Redis, not even the index.
	left, err := client.Keys(ctx, prefix+"{"+tenantA+"}:*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{
		prefix + "{" + tenantA + "}:session:" + hex.EncodeToString(others[0].AccessTokenHash),
		prefix + "{" + tenantA + "}:user-sessions:user-2",
	}, left)

	n, err = s.RevokeSessions(ctx, tenantA, "user-1")
	require.NoError(t, err)
	assert.Zero(t, n, "second revoke")
	n, err = s.RevokeSessions(ctx, tenantA, "nobody")
	require.NoError(t, err)
	assert.Zero(t, n)
}

// TestRevokeSkipsReusedTokenHash: if another user's session reuses a token
// hash, revoking the first user does not end it.
func TestRevokeSkipsReusedTokenHash(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, redisstore.Config{})
	ctx := context.Background()
	first := session(t, tenantA, "user-1", time.Hour)
	second := session(t, tenantA, "user-2", time.Hour)
	second.AccessTokenHash = first.AccessTokenHash
	require.NoError(t, s.CreateSession(ctx, first))
	require.NoError(t, s.CreateSession(ctx, second)) // replaces first's key
	n, err := s.RevokeSessions(ctx, tenantA, "user-1")
	require.NoError(t, err)
	assert.Zero(t, n)
	got, err := s.LookupSession(ctx, tenantA, second.AccessTokenHash, base)
	require.NoError(t, err)
	assert.Equal(t, "user-2", got.UserID)
}

func TestSessionTTL(t *testing.T) {
	t.Parallel()
	s, client, prefix := newStore(t, redisstore.Config{})
	ctx := context.Background()
	short := session(t, tenantA, "user-1", time.Hour)
	long := session(t, tenantA, "user-1", 24*time.Hour)
	require.NoError(t, s.CreateSession(ctx, long))
	require.NoError(t, s.CreateSession(ctx, short))

	ttlOf := func(key string) time.Duration {
		d, err := client.PTTL(ctx, key).Result()
		require.NoError(t, err)
		return d
	}
	sessionKey := func(sess store.Session) string {
		return prefix + "{" + tenantA + "}:session:" + hex.EncodeToString(sess.AccessTokenHash)
	}
	within := func(want, got time.Duration, what string) {
		assert.LessOrEqual(t, got, want, what)
		assert.Greater(t, got, want-5*time.Second, what)
	}
	within(time.Hour, ttlOf(sessionKey(short)), "short session")
	within(24*time.Hour, ttlOf(sessionKey(long)), "long session")
	// The user's index lives as long as the longest session, not the latest.
	within(24*time.Hour, ttlOf(prefix+"{"+tenantA+"}:user-sessions:user-1"), "user index")
}

// TestSessionExpiredByRedisIsPruned: a session Redis expired is neither
// found, nor counted by a revoke, and its entry leaves the user's index at
// the user's next session.
func TestSessionExpiredByRedisIsPruned(t *testing.T) {
	t.Parallel()
	s, client, prefix := newStore(t, redisstore.Config{})
	ctx := context.Background()
	brief := session(t, tenantA, "user-1", 20*time.Millisecond)
	require.NoError(t, s.CreateSession(ctx, brief))
	index := prefix + "{" + tenantA + "}:user-sessions:user-1"
	briefMember := hex.EncodeToString(brief.AccessTokenHash)
	require.True(t, client.SIsMember(ctx, index, briefMember).Val())
	require.Eventually(t, func() bool {
		return client.Exists(ctx, prefix+"{"+tenantA+"}:session:"+briefMember).Val() == 0
	}, 5*time.Second, 10*time.Millisecond)

	next := session(t, tenantA, "user-1", time.Hour)
	require.NoError(t, s.CreateSession(ctx, next))
	members, err := client.SMembers(ctx, index).Result()
	require.NoError(t, err)
	assert.Equal(t, []string{hex.EncodeToString(next.AccessTokenHash)}, members)
	n, err := s.RevokeSessions(ctx, tenantA, "user-1")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestCreateExpiredSessionWritesNothing(t *testing.T) {
	t.Parallel()
	s, client, prefix := newStore(t, redisstore.Config{})
	ctx := context.Background()
	sess := session(t, tenantA, "user-1", -time.Second)
	require.NoError(t, s.CreateSession(ctx, sess))
	keys, err := client.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys)
}

// TestKeyLayout pins the layout README.md documents, including how a tenant
// id or a phone with braces is escaped so it cannot break the hash tag, and
// a ':' in the tenant so that a phone's tag names one tenant and phone.
func TestKeyLayout(t *testing.T) {
	t.Parallel()
	s, client, prefix := newStore(t, redisstore.Config{})
	ctx := context.Background()
	tests := []struct{ tenant, phone, inKey, phoneTag string }{
		{"plain", phone, "plain", "plain:" + phone},
		{"a}b{c%d", phone, "a%7Db%7Bc%25d", "a%7Db%7Bc%25d:" + phone},
		{"", phone, "%", "%:" + phone},
		// Tenant "x:y" and phone "z" are not tenant "x" and phone "y:z".
		{"x:y", "z", "x:y", "x%3Ay:z"},
		{"x", "y:z", "x", "x:y:z"},
		{"p", "{}%", "p", "p:%7B%7D%25"},
	}
	for _, tt := range tests {
		c := challenge(t, tt.tenant, 5)
		c.Phone = tt.phone
		_, err := s.IssueChallenge(ctx, store.Issue{Challenge: c, Network: testNetwork, SendLimit: store.SendLimit{Limit: 3, Period: time.Hour}})
		require.NoError(t, err)
		sess := session(t, tt.tenant, "user:1", time.Hour)
		require.NoError(t, s.CreateSession(ctx, sess))
		tag := prefix + "{" + tt.inKey + "}:"
		for _, key := range []string{
			prefix + "{" + tt.phoneTag + "}:code",
			prefix + "{" + tt.phoneTag + "}:counters",
			tag + "session:" + hex.EncodeToString(sess.AccessTokenHash),
			tag + "user-sessions:user:1",
		} {
			assert.EqualValues(t, 1, client.Exists(ctx, key).Val(), "key %q", key)
		}
	}
	keys, err := client.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	// The two "x" tenants' sessions: each its own user set and session.
	assert.Len(t, keys, 4*len(tests), "no other keys: %v", keys)
	// Readable for operators: the code hash and nonce are raw bytes, the
	// rest text.
	fields, err := client.HGetAll(ctx, prefix+"{plain:"+phone+"}:code").Result()
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"h": true, "nonce": true, "cs": true, "cn": true, "es": true, "en": true,
		"max": true, "att": true, "used": true, "created": true, "expires": true},
		keysOf(fields))
	assert.Equal(t, "0", fields["att"])
	assert.Equal(t, "5", fields["max"])
	assert.Equal(t, fmt.Sprint(base.Add(5*time.Minute).Unix()), fields["es"])
	assert.Equal(t, fmt.Sprint(base.Unix()), fields["cs"])
}

func keysOf(m map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}
