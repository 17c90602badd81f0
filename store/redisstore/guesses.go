package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/otpreset/go/store"
)

// The guessing budget of a tenant and phone is a Redis hash at
// <prefix>{<tenant>}:guess:<phone> with fields
//
//	f       failures counted since the last success
//	l       lockouts started since then
//	us, un  LockedUntil as Unix seconds and nanoseconds; absent when not locked
//	ss, sn  the caller's clock at the last counted guess ("seen")
//	rs, rn  the policy's Retain then, as seconds and nanoseconds (0 0: forever)
//
// and a TTL of Retain, set again by every counted guess. The tenant is the
// hash tag, as for the challenge: the budget lives in the slot of the
// phone's code, so a script may one day touch both.
//
// Times and durations travel as (seconds, nanoseconds) pairs of integers:
// Lua's numbers are doubles, exact only up to 2^53, which nanoseconds since
// 1970 exceed. Each pair is exact, so the scripts decide to the nanosecond,
// as store.NextGuess does.

// takeGuessLua is store.NextGuess in one atomic step: read the state, forget
// it when it was last seen Retain ago by the caller's clock, decide, count
// and start a lockout. KEYS[1] the guess key; ARGV: now s, now ns, Attempts,
// pastLock (0/1), Retain s, Retain ns, the key's TTL in ms (0: none), then
// the lockout ladder as pairs (s, ns): LockoutFor(1), LockoutFor(2), ...
// up to the first that reaches MaxLockout (the last pair repeats for every
// later lockout). It answers {allowed, failures, lockouts, locked, until s,
// until ns, started lockout}, integers.
const takeGuessLua = `
local function before(as, an, bs, bn) return as < bs or (as == bs and an < bn) end
local function add(as, an, bs, bn)
	local s, n = as + bs, an + bn
	if n >= 1000000000 then s, n = s + 1, n - 1000000000 end
	return s, n
end
local g = redis.call('HMGET', KEYS[1], 'f', 'l', 'us', 'un', 'ss', 'sn', 'rs', 'rn')
local now_s, now_ns = tonumber(ARGV[1]), tonumber(ARGV[2])
local f, l, locked, us, un = 0, 0, false, 0, 0
if g[1] then
	local rs, rn = tonumber(g[7]), tonumber(g[8])
	local forgotten = false
	if rs > 0 or rn > 0 then
		local fs, fn = add(tonumber(g[5]), tonumber(g[6]), rs, rn)
		forgotten = not before(now_s, now_ns, fs, fn)
	end
	if not forgotten then
		f, l = tonumber(g[1]), tonumber(g[2])
		if g[3] then locked, us, un = true, tonumber(g[3]), tonumber(g[4]) end
	end
end
if locked and not before(now_s, now_ns, us, un) then locked = false end
if locked and ARGV[4] ~= '1' then
	return {0, f, l, 1, us, un, 0}
end
f = f + 1
local attempts, started = tonumber(ARGV[3]), 0
if attempts > 0 and f % attempts == 0 then
	l = l + 1
	local steps = (#ARGV - 7) / 2
	local i = 7 + 2 * (math.min(l, steps) - 1)
	us, un = add(now_s, now_ns, tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]))
	locked, started = true, 1
end
redis.call('HSET', KEYS[1], 'f', f, 'l', l, 'ss', ARGV[1], 'sn', ARGV[2], 'rs', ARGV[5], 'rn', ARGV[6])
if locked then
	redis.call('HSET', KEYS[1], 'us', us, 'un', un)
else
	redis.call('HDEL', KEYS[1], 'us', 'un')
end
if ARGV[7] ~= '0' then
	redis.call('PEXPIRE', KEYS[1], ARGV[7])
else
	redis.call('PERSIST', KEYS[1])
end
local lk = 0
if locked then lk = 1 end
return {1, f, l, lk, us, un, started}
`

// returnGuessLua is store.ReturnedGuess: KEYS[1] the guess key; ARGV: took's
// StartedLockout (0/1) and Lockouts. A key Redis already forgot stays
// forgotten; the TTL is kept.
const returnGuessLua = `
local g = redis.call('HMGET', KEYS[1], 'f', 'l')
if not g[1] then return 0 end
local f, l = tonumber(g[1]), tonumber(g[2])
if f > 0 then redis.call('HSET', KEYS[1], 'f', f - 1) end
if ARGV[1] == '1' and l == tonumber(ARGV[2]) and l > 0 then
	redis.call('HSET', KEYS[1], 'l', l - 1)
	redis.call('HDEL', KEYS[1], 'us', 'un')
end
return 1
`

var (
	takeGuessScript   = redis.NewScript(takeGuessLua)
	returnGuessScript = redis.NewScript(returnGuessLua)
)

var _ store.Guesses = (*Store)(nil)

// maxLadder bounds the lockout ladder sent with each TakeGuess. A policy
// with a positive Lockout reaches MaxLockout within 63 doublings; only a
// negative Lockout never settles, and then lockouts past this many last as
// long as the last one sent.
const maxLadder = 64

func (s *Store) guessKey(tenantID, phone string) string {
	return s.tenantPart(tenantID) + "guess:" + phone
}

// TakeGuess implements store.Guesses in one round trip (EVALSHA of one
// script): the lockout is checked and the guess counted in the same atomic
// step, so concurrent requests on any number of servers never compare more
// codes than the budget allows. A counted guess sets the key's TTL to
// p.Retain (none when Retain is zero or less); a refused one changes
// nothing. Whether the state is forgotten is decided by now, the caller's
// clock, as are lockouts; the TTL only frees the memory.
func (s *Store) TakeGuess(ctx context.Context, key store.GuessKey, now time.Time, p store.GuessPolicy, pastLock bool) (store.Guess, error) {
	retain := max(p.Retain, 0)
	var ttl int64
	if retain > 0 {
		ttl = ttlMillis(retain)
	}
	ladder := lockoutLadder(p)
	args := make([]any, 0, 7+2*len(ladder))
	args = append(args, now.Unix(), now.Nanosecond(), p.Attempts, flag(pastLock),
		int64(retain/time.Second), int64(retain%time.Second), ttl)
	for _, d := range ladder {
		args = append(args, int64(d/time.Second), int64(d%time.Second))
	}
	answer, err := takeGuessScript.Run(ctx, s.client, []string{s.guessKey(key.TenantID, key.Phone)}, args...).Int64Slice()
	if err != nil {
		return store.Guess{}, fmt.Errorf("redisstore: take guess: %w", err)
	}
	if len(answer) != 7 {
		return store.Guess{}, fmt.Errorf("redisstore: take guess: %w: %v", errAnswer, answer)
	}
	g := store.Guess{
		Allowed:        answer[0] == 1,
		Failures:       int(answer[1]),
		Lockouts:       int(answer[2]),
		StartedLockout: answer[6] == 1,
	}
	if answer[3] == 1 {
		g.LockedUntil = time.Unix(answer[4], answer[5]).In(now.Location())
	}
	return g, nil
}

// errAnswer is wrapped when a script answers something it never answers.
var errAnswer = errors.New("unexpected script answer")

// lockoutLadder is p.LockoutFor(1), p.LockoutFor(2), ... up to the first
// that no later lockout changes (MaxLockout, or zero), so the script looks
// the n-th lockout up rather than computing it in floating point.
func lockoutLadder(p store.GuessPolicy) []time.Duration {
	ladder := []time.Duration{p.LockoutFor(1)}
	for n := 2; n <= maxLadder; n++ {
		d := p.LockoutFor(n)
		if d == ladder[len(ladder)-1] {
			break
		}
		ladder = append(ladder, d)
	}
	return ladder
}

// ReturnGuess implements store.Guesses in one round trip (one script): one
// failure fewer and, when took started the latest lockout, that lockout
// lifted. A key that Redis has already forgotten stays forgotten.
func (s *Store) ReturnGuess(ctx context.Context, key store.GuessKey, took store.Guess) error {
	err := returnGuessScript.Run(ctx, s.client, []string{s.guessKey(key.TenantID, key.Phone)},
		flag(took.StartedLockout), took.Lockouts).Err()
	if err != nil {
		return fmt.Errorf("redisstore: return guess: %w", err)
	}
	return nil
}

// PeekGuesses implements store.Guesses with one HMGET, which needs no
// script: it only reads. State last counted Retain ago (by now) reads as
// new; a lockout over at now reads as none.
func (s *Store) PeekGuesses(ctx context.Context, key store.GuessKey, now time.Time) (store.Guess, error) {
	v, err := s.client.HMGet(ctx, s.guessKey(key.TenantID, key.Phone), "f", "l", "us", "un", "ss", "sn", "rs", "rn").Result()
	if err != nil {
		return store.Guess{}, fmt.Errorf("redisstore: peek guesses: %w", err)
	}
	if v[0] == nil {
		return store.Guess{}, nil
	}
	n := make([]int64, len(v))
	for i, x := range v {
		if x == nil {
			continue
		}
		str, _ := x.(string)
		if n[i], err = strconv.ParseInt(str, 10, 64); err != nil {
			return store.Guess{}, fmt.Errorf("redisstore: peek guesses: field %d: %w", i, err)
		}
	}
	retain := time.Duration(n[6])*time.Second + time.Duration(n[7])
	if retain > 0 && !now.Before(time.Unix(n[4], n[5]).Add(retain)) {
		return store.Guess{}, nil
	}
	g := store.Guess{Failures: int(n[0]), Lockouts: int(n[1])}
	if v[2] != nil {
		if until := time.Unix(n[2], n[3]); now.Before(until) {
			g.LockedUntil = until.In(now.Location())
		}
	}
	return g, nil
}

// ClearGuesses implements store.Guesses: one DEL of the key.
func (s *Store) ClearGuesses(ctx context.Context, key store.GuessKey) error {
	if err := s.client.Del(ctx, s.guessKey(key.TenantID, key.Phone)).Err(); err != nil {
		return fmt.Errorf("redisstore: clear guesses: %w", err)
	}
	return nil
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}
