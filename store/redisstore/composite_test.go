package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/redisstore"
)

// cheap argon2id parameters: these tests are about the store, not hashing.
var testArgon = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

func hashPassword(t testing.TB, password string) string {
	t.Helper()
	h, err := argon2id.CreateHash(password, testArgon)
	require.NoError(t, err)
	return h
}

// brokenUsers is a host user table whose connection dies during the
// password update, after the code was consumed in Redis.
type brokenUsers struct {
	store.Users
	err error
}

func (b brokenUsers) UpdatePassword(context.Context, store.PasswordChange) error {
	return fmt.Errorf("host users: update password: %w", b.err)
}

// TestConnectionKilledMidReset: in the composite store ApplyReset runs the
// steps one by one (consume the code, replace the password, revoke sessions,
// create the new session). When the user update fails after the code was
// consumed, the password is untouched: the old one still verifies, the
// stored hash is unchanged, no session was revoked and no new session exists.
// The code is spent, so the user asks for a new code, which then works.
func TestConnectionKilledMidReset(t *testing.T) {
	t.Parallel()
	rs, _, _ := newStore(t, redisstore.Config{})
	ctx := context.Background()

	users := memstore.New()
	oldHash := hashPassword(t, "old horse battery")
	user := store.User{
		TenantID: tenantA, ID: "user-1", Phone: phone, PasswordHash: oldHash,
		Profile: json.RawMessage(`{"Uid":"user-1"}`),
	}
	require.NoError(t, users.AddUser(ctx, user))
	killed := io.ErrUnexpectedEOF
	broken := store.Composite{Users: brokenUsers{Users: users, err: killed}, Challenges: rs, Sessions: rs}
	_, atomic := any(broken).(store.Resetter)
	require.False(t, atomic, "a composite store must take ApplyReset's step-by-step path")

	existing := session(t, tenantA, user.ID, time.Hour)
	require.NoError(t, rs.CreateSession(ctx, existing))
	code := challenge(t, tenantA, 5)
	require.True(t, save(t, rs, code))

	reset := func(c store.Challenge) store.Reset {
		ns := session(t, tenantA, user.ID, time.Hour)
		return store.Reset{
			Check: checkOf(c, c.CodeHash, base.Add(time.Minute)),
			Change: store.PasswordChange{
				TenantID: tenantA, UserID: user.ID, PasswordHash: hashPassword(t, "new horse battery"),
				Profile: json.RawMessage(`{"Uid":"user-1","LastPasswordChangeDate":"2020-02-29T12:01:00Z"}`), ChangedAt: base.Add(time.Minute),
			},
			NewSession: &ns,
		}
	}
	failed := reset(code)
	err := store.ApplyReset(ctx, broken, failed)
	require.ErrorIs(t, err, killed)
	for _, s := range sentinels {
		require.False(t, errors.Is(err, s), "a dead connection is a store fault, not %v", s)
	}

	got, err := users.UserByPhone(ctx, tenantA, phone)
	require.NoError(t, err)
	assert.Equal(t, oldHash, got.PasswordHash, "hash unchanged")
	ok, err := argon2id.ComparePasswordAndHash("old horse battery", got.PasswordHash)
	require.NoError(t, err)
	assert.True(t, ok, "the old password still works")
	_, err = rs.LookupSession(ctx, tenantA, failed.NewSession.AccessTokenHash, base.Add(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "no new session was created")
	// The documented cost of a composite store: the code is spent. Sessions
	// are revoked only after the password step, so they are untouched.
	require.ErrorIs(t, verify(rs, failed.Check), store.ErrChallengeUsed)
	_, err = rs.LookupSession(ctx, tenantA, existing.AccessTokenHash, base.Add(time.Minute))
	require.NoError(t, err, "no session was revoked by the failed reset")

	// With the connection back and a new code, the reset goes through.
	healthy := store.Composite{Users: users, Challenges: rs, Sessions: rs}
	existing = session(t, tenantA, user.ID, time.Hour) // logged in again meanwhile
	require.NoError(t, rs.CreateSession(ctx, existing))
	again := challenge(t, tenantA, 5)
	require.True(t, save(t, rs, again), "a used code is replaced")
	done := reset(again)
	require.NoError(t, store.ApplyReset(ctx, healthy, done))
	got, err = users.UserByPhone(ctx, tenantA, phone)
	require.NoError(t, err)
	ok, err = argon2id.ComparePasswordAndHash("new horse battery", got.PasswordHash)
	require.NoError(t, err)
	assert.True(t, ok, "the new password works")
	_, err = rs.LookupSession(ctx, tenantA, existing.AccessTokenHash, base.Add(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "the old session was revoked")
	_, err = rs.LookupSession(ctx, tenantA, done.NewSession.AccessTokenHash, base.Add(time.Minute))
	require.NoError(t, err, "the new session is live")
}

// TestRedisDown: with Redis unreachable every operation fails with an error
// that matches none of the store's sentinels, so otpreset answers 500 (950)
// rather than, say, "wrong code".
func TestRedisDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	client := redis.NewClient(&redis.Options{
		Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1,
		DialerRetries: 1, DialerRetryTimeout: time.Millisecond,
	})
	t.Cleanup(func() { _ = client.Close() })
	s, err := redisstore.New(client, redisstore.Config{})
	require.NoError(t, err, "New does no I/O")

	ctx := context.Background()
	c := challenge(t, tenantA, 5)
	sess := session(t, tenantA, "user-1", time.Hour)
	ops := map[string]func() error{
		"IssueChallenge": func() error {
			_, err := s.IssueChallenge(ctx, store.Issue{Challenge: c, Network: testNetwork, SendLimit: store.SendLimit{Limit: 3, Period: time.Hour}})
			return err
		},
		"CheckCode": func() error {
			_, err := s.CheckCode(ctx, store.Attempt{Check: checkOf(c, c.CodeHash, base), Network: testNetwork, Policy: defaultPolicy})
			return err
		},
		"ConsumeChallenge": func() error { return s.ConsumeChallenge(ctx, checkOf(c, c.CodeHash, base)) },
		"ClearCounters":    func() error { return s.ClearCounters(ctx, tenantA, phone) },
		"CreateSession":    func() error { return s.CreateSession(ctx, sess) },
		"LookupSession": func() error {
			_, err := s.LookupSession(ctx, tenantA, sess.AccessTokenHash, base)
			return err
		},
		"RevokeSessions": func() error {
			_, err := s.RevokeSessions(ctx, tenantA, "user-1")
			return err
		},
	}
	for name, op := range ops {
		err := op()
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "redisstore:", name)
		for _, sentinel := range append(sentinels, store.ErrNotFound) {
			assert.False(t, errors.Is(err, sentinel), "%s: %v matches %v", name, err, sentinel)
		}
	}
	_, err = redisstore.NewLimiterStore(client, "")
	require.Error(t, err, "the limiter store loads its scripts")
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = client.Close() })
	tests := []struct {
		name   string
		client redis.UniversalClient
		prefix string
	}{
		{"nil client", nil, ""},
		{"brace in prefix", client, "app{1}:"},
		{"lone brace in prefix", client, "app}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := redisstore.New(tt.client, redisstore.Config{Prefix: tt.prefix})
			require.ErrorIs(t, err, redisstore.ErrInvalidConfig)
			_, err = redisstore.NewLimiterStore(tt.client, tt.prefix)
			require.ErrorIs(t, err, redisstore.ErrInvalidConfig)
		})
	}
	for _, n := range []int{-1, 1001} {
		_, err := redisstore.New(client, redisstore.Config{MaxNetworks: n})
		require.ErrorIs(t, err, redisstore.ErrInvalidConfig, "MaxNetworks %d", n)
	}
	for _, n := range []int{0, 1, 1000} {
		_, err := redisstore.New(client, redisstore.Config{MaxNetworks: n})
		require.NoError(t, err, "MaxNetworks %d", n)
	}
}
