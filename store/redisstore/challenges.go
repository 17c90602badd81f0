package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/otpreset/go/store"
)

// A challenge is a Redis hash at <prefix>{<tenant>}:code:<phone> with fields
//
//	h       the code hash, raw bytes
//	es, en  ExpiresAt as Unix seconds and nanoseconds (compared in the scripts)
//	max     MaxAttempts
//	att     wrong tries so far
//	used    "1" once consumed
//	created, expires  CreatedAt and ExpiresAt in RFC 3339, for people reading it
//
// and a TTL of the challenge's lifetime plus the retention.

// saveChallengeScript replaces the challenge: KEYS[1] the challenge key;
// ARGV: hash, es, en, max, created, expires, ttl in ms.
var saveChallengeScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'es', ARGV[2], 'en', ARGV[3],
	'max', ARGV[4], 'att', 0, 'used', 0, 'created', ARGV[5], 'expires', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 'ok'
`)

// checkLua decides a CodeCheck. KEYS[1] the challenge key; ARGV: hash, now
// seconds, now nanoseconds. It answers one of the outcomes below, counting a
// wrong try and, when consume is true, marking a matching code used, all in
// the script's one atomic step. The checks run in the same order as
// memstore's: no code, used, expired, locked, then the comparison, which is
// constant-time in the length of the stored hash.
//
// A used challenge answers "used" only to the code that was used (a request
// that lost the race to a concurrent success, which otpreset does not count
// as a guess); any other code gets "mismatch", so guesses made against a
// used code are counted by the guessing budget like any other. The
// challenge's own count is not touched then: it no longer matters.
const checkLua = `
local function same(stored, given)
	local diff = 0
	if #stored ~= #given then diff = 1 end
	for i = 1, #stored do
		diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(given, i) or 0))
	end
	return diff == 0
end
local c = redis.call('HMGET', KEYS[1], 'h', 'es', 'en', 'max', 'att', 'used')
if not c[1] then return 'none' end
if c[6] == '1' then
	if same(c[1], ARGV[1]) then return 'used' end
	return 'mismatch'
end
local now_s, now_ns = tonumber(ARGV[2]), tonumber(ARGV[3])
local es, en = tonumber(c[2]), tonumber(c[3])
if now_s > es or (now_s == es and now_ns >= en) then return 'expired' end
if tonumber(c[5]) >= tonumber(c[4]) then return 'locked' end
if not same(c[1], ARGV[1]) then
	redis.call('HINCRBY', KEYS[1], 'att', 1)
	return 'mismatch'
end
`

var (
	verifyChallengeScript  = redis.NewScript(checkLua + "return 'ok'\n")
	consumeChallengeScript = redis.NewScript(checkLua + "redis.call('HSET', KEYS[1], 'used', 1)\nreturn 'ok'\n")
)

// checkOutcomes maps the scripts' answers to the store's sentinels.
var checkOutcomes = map[string]error{
	"ok":       nil,
	"none":     store.ErrNoChallenge,
	"used":     store.ErrChallengeUsed,
	"expired":  store.ErrChallengeExpired,
	"locked":   store.ErrTooManyAttempts,
	"mismatch": store.ErrCodeMismatch,
}

// SaveChallenge implements store.Challenges: it replaces any earlier
// challenge for the tenant and phone (used or not) with c and a fresh
// attempt count, and sets the key's TTL to c's lifetime (ExpiresAt minus
// CreatedAt) plus the retention.
func (s *Store) SaveChallenge(ctx context.Context, c store.Challenge) error {
	ttl := s.lifetime(c.CreatedAt, c.ExpiresAt) + s.retention
	err := saveChallengeScript.Run(ctx, s.client,
		[]string{s.challengeKey(c.TenantID, c.Phone)},
		c.CodeHash,
		c.ExpiresAt.Unix(), c.ExpiresAt.Nanosecond(),
		c.MaxAttempts,
		formatTime(c.CreatedAt), formatTime(c.ExpiresAt),
		ttlMillis(ttl),
	).Err()
	if err != nil {
		return fmt.Errorf("redisstore: save challenge: %w", err)
	}
	return nil
}

// VerifyChallenge implements store.Challenges. Expiry is decided with
// check.Now (the clock when it is zero): the code is expired from its
// ExpiresAt on, even while the key still lives in Redis.
func (s *Store) VerifyChallenge(ctx context.Context, check store.CodeCheck) error {
	return s.check(ctx, verifyChallengeScript, "verify", check)
}

// ConsumeChallenge implements store.Challenges: of any number of concurrent
// callers with the right code, on any number of servers, exactly one gets
// nil and the others ErrChallengeUsed. Once used, a challenge answers
// ErrChallengeUsed only to its own code, and ErrCodeMismatch to any other.
func (s *Store) ConsumeChallenge(ctx context.Context, check store.CodeCheck) error {
	return s.check(ctx, consumeChallengeScript, "consume", check)
}

func (s *Store) check(ctx context.Context, script *redis.Script, op string, check store.CodeCheck) error {
	now := check.Now
	if now.IsZero() {
		now = s.now()
	}
	answer, err := script.Run(ctx, s.client,
		[]string{s.challengeKey(check.TenantID, check.Phone)},
		check.CodeHash, now.Unix(), now.Nanosecond(),
	).Text()
	if err != nil {
		return fmt.Errorf("redisstore: %s challenge: %w", op, err)
	}
	outcome, ok := checkOutcomes[answer]
	if !ok {
		return fmt.Errorf("redisstore: %s challenge: unexpected script answer %q", op, answer)
	}
	if outcome != nil {
		return fmt.Errorf("redisstore: %w", outcome)
	}
	return nil
}

// formatTime writes t for people reading the keys; the scripts never parse it.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}
