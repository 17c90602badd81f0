package redisstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/otpreset/go/store"
)

// A session is a Redis hash at <prefix>{<tenant>}:session:<hex of the access
// token hash> with fields id, user, ah and rh (the token hashes, raw bytes),
// created and expires (RFC 3339 with nanoseconds), and a TTL of the session's
// lifetime. The set <prefix>{<tenant>}:user-sessions:<user id> lists the hex
// access-token hashes of the user's sessions, for revocation; its TTL is
// that of its longest-lived session.

// createSessionScript writes a session and indexes it under its user.
// KEYS[1] the session key, KEYS[2] the user's set; ARGV: set member, ttl in
// ms, session key prefix, id, user, access hash, refresh hash, created,
// expires. Members of the set whose session has expired are pruned, so the
// set of a user who keeps logging in does not grow without bound.
var createSessionScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'id', ARGV[4], 'user', ARGV[5], 'ah', ARGV[6],
	'rh', ARGV[7], 'created', ARGV[8], 'expires', ARGV[9])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do
	if redis.call('EXISTS', ARGV[3] .. m) == 0 then
		redis.call('SREM', KEYS[2], m)
	end
end
redis.call('SADD', KEYS[2], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[2]) < ttl then
	redis.call('PEXPIRE', KEYS[2], ttl)
end
return 'ok'
`)

// revokeSessionsScript deletes every session of a user and the user's set,
// and answers how many sessions it deleted. KEYS[1] the user's set; ARGV:
// session key prefix, user id. A session key is deleted only if it still
// belongs to that user (a token hash reused by another user's session is
// left alone).
var revokeSessionsScript = redis.NewScript(`
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
	local k = ARGV[1] .. m
	if redis.call('HGET', k, 'user') == ARGV[2] then
		n = n + redis.call('DEL', k)
	end
end
redis.call('DEL', KEYS[1])
return n
`)

// CreateSession implements store.Sessions. The session key lives for the
// session's lifetime (ExpiresAt minus CreatedAt); a session whose lifetime
// is already over is not written at all, since no lookup could find it.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	life := s.lifetime(sess.CreatedAt, sess.ExpiresAt)
	if life <= 0 {
		return nil
	}
	member := hex.EncodeToString(sess.AccessTokenHash)
	err := createSessionScript.Run(ctx, s.client,
		[]string{s.sessionKey(sess.TenantID, sess.AccessTokenHash), s.userSessionsKey(sess.TenantID, sess.UserID)},
		member, ttlMillis(life), s.sessionKeyPrefix(sess.TenantID),
		sess.ID, sess.UserID, sess.AccessTokenHash, sess.RefreshTokenHash,
		sess.CreatedAt.Format(time.RFC3339Nano), sess.ExpiresAt.Format(time.RFC3339Nano),
	).Err()
	if err != nil {
		return fmt.Errorf("redisstore: create session: %w", err)
	}
	return nil
}

// LookupSession finds a live session by the hash of its access token (for
// hosts that accept the access_token a reset issued; otpreset never calls
// it), or returns an error wrapping store.ErrNotFound. The session is live
// while now (the clock when zero) is before its ExpiresAt and its key
// exists.
func (s *Store) LookupSession(ctx context.Context, tenantID string, accessTokenHash []byte, now time.Time) (store.Session, error) {
	fields, err := s.client.HGetAll(ctx, s.sessionKey(tenantID, accessTokenHash)).Result()
	if err != nil {
		return store.Session{}, fmt.Errorf("redisstore: lookup session: %w", err)
	}
	if len(fields) == 0 {
		return store.Session{}, fmt.Errorf("redisstore: session %w", store.ErrNotFound)
	}
	created, err1 := time.Parse(time.RFC3339Nano, fields["created"])
	expires, err2 := time.Parse(time.RFC3339Nano, fields["expires"])
	if err := errors.Join(err1, err2); err != nil {
		return store.Session{}, fmt.Errorf("redisstore: lookup session: malformed session: %w", err)
	}
	if now.IsZero() {
		now = s.now()
	}
	if !now.Before(expires) {
		return store.Session{}, fmt.Errorf("redisstore: session %w", store.ErrNotFound)
	}
	return store.Session{
		ID:               fields["id"],
		TenantID:         tenantID,
		UserID:           fields["user"],
		AccessTokenHash:  []byte(fields["ah"]),
		RefreshTokenHash: []byte(fields["rh"]),
		CreatedAt:        created,
		ExpiresAt:        expires,
	}, nil
}

// RevokeSessions implements store.Sessions: one script deletes every session
// of the user and the user's set, and the count is of sessions that were
// still in Redis.
func (s *Store) RevokeSessions(ctx context.Context, tenantID, userID string) (int, error) {
	n, err := revokeSessionsScript.Run(ctx, s.client,
		[]string{s.userSessionsKey(tenantID, userID)},
		s.sessionKeyPrefix(tenantID), userID,
	).Int()
	if err != nil {
		return 0, fmt.Errorf("redisstore: revoke sessions: %w", err)
	}
	return n, nil
}
