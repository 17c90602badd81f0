package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/otpreset/go/store"
)

// A phone's keys share the hash tag {<tenant>:<phone>}, so a Redis Cluster
// keeps them in one slot and each script below touches one slot only.
//
// The challenge is a hash at <prefix>{<tenant>:<phone>}:code with fields
//
//	h       the code hash, raw bytes
//	nonce   the nonce the code was derived from, raw bytes
//	cs, cn  CreatedAt as Unix seconds and nanoseconds
//	es, en  ExpiresAt as Unix seconds and nanoseconds (compared in the scripts)
//	max     MaxAttempts
//	att     wrong tries so far
//	used    "1" once consumed
//	created, expires  CreatedAt and ExpiresAt in RFC 3339, for people reading it
//
// and a TTL of the challenge's lifetime plus the retention.
//
// The counters are a hash at <prefix>{<tenant>:<phone>}:counters with
//
//	b          the guessing budget's BudgetAt, "<s> <ns>" (absent: never used)
//	n:<net>    one client network's store.NetworkState, eleven integers:
//	           Failures Lockouts, LockedUntil (s ns), Seen (s ns), Sends,
//	           SendsReset (s ns), and drop (s ns): the instant from which the
//	           state no longer matters (equals a new network's)
//
// and a TTL that reaches the latest drop and BudgetAt, by the caller's clock,
// and a minute more (only ever extended): the callers' clocks decide, so the
// minute keeps an instance whose clock is a little behind, or a Redis
// server slow to answer, from finding a counter that still matters gone.
// ClearCounters is one DEL of it. When a new network would make more than
// Config.MaxNetworks, the networks past their drop instant are deleted
// first, then those that reach it soonest.
//
// Times and durations travel and are kept as (seconds, nanoseconds) pairs of
// integers, the nanoseconds in [0, 1e9) (a negative duration has negative
// seconds): Lua's numbers are doubles, exact only up to 2^53, which
// nanoseconds since 1970 exceed, but each pair is exact, so the scripts
// decide to the nanosecond, as store.NextAttempt and store.NextIssue do. Go's
// zero time is the pair (-62135596800, 0).

// timeLua is the arithmetic on (seconds, nanoseconds) pairs and the
// network state's codec, shared by the scripts.
const timeLua = `
local ZS = -62135596800
local function before(as, an, bs, bn) return as < bs or (as == bs and an < bn) end
local function add(as, an, bs, bn)
	local s, n = as + bs, an + bn
	if n >= 1000000000 then s, n = s + 1, n - 1000000000 end
	return s, n
end
local function later(as, an, bs, bn)
	if before(as, an, bs, bn) then return bs, bn end
	return as, an
end
local function iszero(s, n) return s == ZS and n == 0 end
local function readnet(v)
	if not v then return {0, 0, ZS, 0, ZS, 0, 0, ZS, 0, ZS, 0} end
	local t = {}
	for x in string.gmatch(v, '%S+') do t[#t + 1] = tonumber(x) end
	if #t ~= 11 then error('redisstore: malformed network counters') end
	return t
end
local function writenet(t)
	return string.format('%d %d %d %d %d %d %d %d %d %d %d',
		t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11])
end
-- makeroom keeps fewer than cap networks in key, before a new one is added:
-- the networks past their drop instant go, then those that reach it soonest.
local function makeroom(key, nows, nown, cap)
	local n = redis.call('HLEN', key) - redis.call('HEXISTS', key, 'b')
	if n < cap then return end
	local all = redis.call('HGETALL', key)
	local live, gone = {}, {}
	for i = 1, #all, 2 do
		if string.sub(all[i], 1, 2) == 'n:' then
			local t = readnet(all[i + 1])
			if before(nows, nown, t[10], t[11]) then
				live[#live + 1] = {all[i], t[10], t[11]}
			else
				gone[#gone + 1] = all[i]
			end
		end
	end
	if #live >= cap then
		table.sort(live, function(a, b) return before(a[2], a[3], b[2], b[3]) end)
		for i = 1, #live - cap + 1 do gone[#gone + 1] = live[i][1] end
	end
	if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
end
-- keepuntil extends key's TTL to reach (us, un), from now by the caller's
-- clock, and a minute more.
local function keepuntil(key, nows, nown, us, un)
	local ms = (us - nows) * 1000 + math.ceil((un - nown) / 1000000)
	if ms < 0 then ms = 0 end
	ms = ms + 60000
	if redis.call('PTTL', key) < ms then
		redis.call('PEXPIRE', key, string.format('%d', ms))
	end
end
`

// checkLua compares a code hash with a challenge: check(key, hash, now s,
// now ns) answers one of the outcomes of checkOutcomes, counting a wrong try
// of a usable code. The checks run in memstore's order: no code, used,
// expired, no tries left, then the comparison, which is constant-time in the
// length of the stored hash.
//
// A used challenge answers "used" only to the code that was used (a request
// that lost the race to a concurrent success, which nothing counts); any
// other code gets "mismatch", counted by the network's and the phone's
// counters like any other. The challenge's own count is not touched then: it
// no longer matters.
const checkLua = `
local function same(stored, given)
	local diff = 0
	if #stored ~= #given then diff = 1 end
	for i = 1, #stored do
		diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(given, i) or 0))
	end
	return diff == 0
end
local function check(key, hash, nows, nown)
	local c = redis.call('HMGET', key, 'h', 'es', 'en', 'max', 'att', 'used')
	if not c[1] then return 'none' end
	if c[6] == '1' then
		if same(c[1], hash) then return 'used' end
		return 'mismatch'
	end
	if not before(nows, nown, tonumber(c[2]), tonumber(c[3])) then return 'expired' end
	if tonumber(c[5]) >= tonumber(c[4]) then return 'locked' end
	if not same(c[1], hash) then
		redis.call('HINCRBY', key, 'att', 1)
		return 'mismatch'
	end
	return 'ok'
end
`

// issueScript is IssueChallenge: store.NextIssue on the network's state,
// then, unless limited or NoUser, the phone's live challenge kept or the new
// one saved. KEYS: counters, challenge. ARGV: 1 the network's field, 2 the
// send limit, 3-4 its period, 5-6 now (CreatedAt), 7 NoUser (0/1), 8
// MaxNetworks, 9 hash, 10 nonce, 11 MaxAttempts, 12-13 ExpiresAt, 14 the
// challenge's TTL in ms, 15-16 CreatedAt and ExpiresAt in RFC 3339. It
// answers {limited, sends left, window end s, ns, what}: what is 0 when
// nothing was stored, 1 when the new challenge was saved, 2 when the live
// one was kept, followed then by its hash, nonce, CreatedAt s, ns, ExpiresAt
// s, ns and MaxAttempts.
var issueScript = redis.NewScript(timeLua + `
local nows, nown = tonumber(ARGV[5]), tonumber(ARGV[6])
local limit = tonumber(ARGV[2])
local left, rs, rn = 0, ZS, 0
if limit > 0 then
	local v = redis.call('HGET', KEYS[1], ARGV[1])
	local t = readnet(v)
	if not before(nows, nown, t[8], t[9]) then
		t[7] = 0
		t[8], t[9] = add(nows, nown, tonumber(ARGV[3]), tonumber(ARGV[4]))
	end
	if t[7] >= limit then return {1, 0, t[8], t[9], 0} end
	t[7] = t[7] + 1
	t[10], t[11] = later(t[10], t[11], t[8], t[9])
	if not v then makeroom(KEYS[1], nows, nown, tonumber(ARGV[8])) end
	redis.call('HSET', KEYS[1], ARGV[1], writenet(t))
	keepuntil(KEYS[1], nows, nown, t[10], t[11])
	left, rs, rn = limit - t[7], t[8], t[9]
end
if ARGV[7] == '1' then return {0, left, rs, rn, 0} end
local c = redis.call('HMGET', KEYS[2], 'h', 'nonce', 'cs', 'cn', 'es', 'en', 'max', 'att', 'used')
if c[1] and c[9] ~= '1' and before(nows, nown, tonumber(c[5]), tonumber(c[6]))
	and tonumber(c[8]) < tonumber(c[7]) then
	return {0, left, rs, rn, 2, c[1], c[2] or '', tonumber(c[3]), tonumber(c[4]),
		tonumber(c[5]), tonumber(c[6]), tonumber(c[7])}
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'h', ARGV[9], 'nonce', ARGV[10], 'cs', ARGV[5], 'cn', ARGV[6],
	'es', ARGV[12], 'en', ARGV[13], 'max', ARGV[11], 'att', 0, 'used', 0,
	'created', ARGV[15], 'expires', ARGV[16])
redis.call('PEXPIRE', KEYS[2], ARGV[14])
return {0, left, rs, rn, 1}
`)

// checkScript is CheckCode: store.NextAttempt in one atomic step. KEYS:
// counters, challenge. ARGV: 1 the network's field, 2-3 now, 4 Attempts,
// 5 Retain applies (0/1), 6-7 Retain, 8-9 how long a network's failures
// are kept after the last, 10 the budget applies (0/1), 11-12 its interval,
// 13-14 its tolerance, 15-16 tolerance's negation plus 1 ns (a refusal's
// Until from the theoretical arrival time), 17 PassLockout, 18 PassBudget,
// 19 the code hash, 20 MaxNetworks, then the lockout ladder as pairs:
// LockoutFor(1), LockoutFor(2), ... (the last pair serves every later
// lockout). It answers {refusal, until s, until ns, lockouts, outcome,
// counted, started lockout}: refusal 0 (compared), 1 (lockout), 2 (budget).
var checkScript = redis.NewScript(timeLua + checkLua + `
local nows, nown = tonumber(ARGV[2]), tonumber(ARGV[3])
local g = redis.call('HMGET', KEYS[1], ARGV[1], 'b')
local t = readnet(g[1])
if ARGV[5] == '1' and not iszero(t[5], t[6]) then
	local fs, fn = add(t[5], t[6], tonumber(ARGV[6]), tonumber(ARGV[7]))
	if not before(nows, nown, fs, fn) then
		t[1], t[2], t[3], t[4], t[5], t[6] = 0, 0, ZS, 0, ZS, 0
	end
end
if not iszero(t[3], t[4]) and not before(nows, nown, t[3], t[4]) then t[3], t[4] = ZS, 0 end
if not iszero(t[3], t[4]) and ARGV[17] ~= '1' then
	return {1, t[3], t[4], t[2], '', 0, 0}
end
local tats, tatn = nows, nown
if g[2] then
	local bs, bn = string.match(g[2], '^(%S+) (%S+)$')
	tats, tatn = later(tonumber(bs), tonumber(bn), nows, nown)
end
local budget = ARGV[10] == '1'
if budget then
	local ls, ln = add(nows, nown, tonumber(ARGV[13]), tonumber(ARGV[14]))
	if not before(tats, tatn, ls, ln) and ARGV[18] ~= '1' then
		local us, un = add(tats, tatn, tonumber(ARGV[15]), tonumber(ARGV[16]))
		return {2, us, un, t[2], '', 0, 0}
	end
end
local outcome = check(KEYS[2], ARGV[19], nows, nown)
if outcome == 'ok' or outcome == 'used' then
	return {0, 0, 0, t[2], outcome, 0, 0}
end
t[1] = t[1] + 1
t[5], t[6] = nows, nown
local attempts, started = tonumber(ARGV[4]), 0
if attempts > 0 and t[1] % attempts == 0 then
	t[2] = t[2] + 1
	local steps = (#ARGV - 20) / 2
	local i = 20 + 2 * (math.min(t[2], steps) - 1)
	t[3], t[4] = add(nows, nown, tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]))
	started = 1
end
local ks, kn = add(nows, nown, tonumber(ARGV[8]), tonumber(ARGV[9]))
t[10], t[11] = later(t[10], t[11], ks, kn)
t[10], t[11] = later(t[10], t[11], t[3], t[4])
if not g[1] then makeroom(KEYS[1], nows, nown, tonumber(ARGV[20])) end
redis.call('HSET', KEYS[1], ARGV[1], writenet(t))
local us, un = t[10], t[11]
if budget then
	local bs, bn = add(tats, tatn, tonumber(ARGV[11]), tonumber(ARGV[12]))
	redis.call('HSET', KEYS[1], 'b', string.format('%d %d', bs, bn))
	us, un = later(us, un, bs, bn)
end
keepuntil(KEYS[1], nows, nown, us, un)
return {0, 0, 0, t[2], outcome, 1, started}
`)

// consumeScript is ConsumeChallenge: KEYS[1] the challenge; ARGV: hash, now
// s, now ns. A right, usable code is marked used in the same step.
var consumeScript = redis.NewScript(timeLua + checkLua + `
local outcome = check(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
if outcome == 'ok' then redis.call('HSET', KEYS[1], 'used', 1) end
return outcome
`)

// checkOutcomes maps the scripts' answers to the store's sentinels.
var checkOutcomes = map[string]error{
	"ok":       nil,
	"none":     store.ErrNoChallenge,
	"used":     store.ErrChallengeUsed,
	"expired":  store.ErrChallengeExpired,
	"locked":   store.ErrTooManyAttempts,
	"mismatch": store.ErrCodeMismatch,
}

// errAnswer is wrapped when a script answers something it never answers.
var errAnswer = errors.New("unexpected script answer")

// maxLadder bounds the lockout ladder sent with each CheckCode. A policy
// with a positive Lockout reaches MaxLockout within 63 doublings; only a
// negative Lockout never settles, and then lockouts past this many last as
// long as the last one sent.
const maxLadder = 64

// IssueChallenge implements store.Challenges in one round trip (EVALSHA of
// one script): the send is counted against the network's limit and the code
// kept or saved in one atomic step (store.NextIssue, store.Live). A new code
// lives in Redis for its lifetime (ExpiresAt minus CreatedAt) plus the
// retention; a zero CreatedAt is taken from Config.Now.
func (s *Store) IssueChallenge(ctx context.Context, iss store.Issue) (store.Issued, error) {
	c := iss.Challenge
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now()
	}
	periodS, periodN := durationPair(iss.SendLimit.Period)
	nowS, nowN := timePair(c.CreatedAt)
	expS, expN := timePair(c.ExpiresAt)
	ttl := c.ExpiresAt.Sub(c.CreatedAt) + s.retention
	answer, err := issueScript.Run(ctx, s.client,
		[]string{s.countersKey(c.TenantID, c.Phone), s.challengeKey(c.TenantID, c.Phone)},
		networkField(iss.Network), iss.SendLimit.Limit, periodS, periodN, nowS, nowN,
		flag(iss.NoUser), s.maxNetworks,
		c.CodeHash, c.Nonce, c.MaxAttempts, expS, expN, ttlMillis(ttl),
		formatTime(c.CreatedAt), formatTime(c.ExpiresAt),
	).Slice()
	if err != nil {
		return store.Issued{}, fmt.Errorf("redisstore: issue challenge: %w", err)
	}
	a := reply(answer)
	if len(answer) < 5 {
		a.err = errAnswer
	}
	issued := store.Issued{
		Limited:   a.int(0) == 1,
		SendsLeft: int(a.int(1)),
	}
	issued.LimitResets = a.time(2, c.CreatedAt.Location())
	switch a.int(4) {
	case 0:
	case 1:
		issued.Challenge = c
		issued.Challenge.Nonce = bytesOf(c.Nonce)
		issued.Challenge.CodeHash = bytesOf(c.CodeHash)
	case 2:
		issued.Challenge = store.Challenge{
			TenantID:    c.TenantID,
			Phone:       c.Phone,
			CodeHash:    a.bytes(5),
			Nonce:       a.bytes(6),
			CreatedAt:   a.time(7, c.CreatedAt.Location()),
			ExpiresAt:   a.time(9, c.CreatedAt.Location()),
			MaxAttempts: int(a.int(11)),
		}
	default:
		a.err = errAnswer
	}
	if a.err != nil {
		return store.Issued{}, fmt.Errorf("redisstore: issue challenge: %w: %v", a.err, answer)
	}
	return issued, nil
}

// CheckCode implements store.Challenges in one round trip (EVALSHA of one
// script): store.NextAttempt over the network's state, the phone's budget
// and the challenge, in one atomic step, so that concurrent attempts on any
// number of servers compare no more codes than the counters allow. A zero
// Check.Now is taken from Config.Now.
func (s *Store) CheckCode(ctx context.Context, at store.Attempt) (store.Verdict, error) {
	now, p := at.Check.Now, at.Policy
	if now.IsZero() {
		now = s.now()
	}
	nowS, nowN := timePair(now)
	retS, retN := durationPair(max(p.Retain, 0))
	keepS, keepN := durationPair(failuresKept(p))
	interval := p.BudgetInterval()
	tolerance := time.Duration(max(p.BudgetBurst, 1)) * interval
	intS, intN := durationPair(interval)
	tolS, tolN := durationPair(tolerance)
	offS, offN := durationPair(-tolerance + time.Nanosecond)
	ladder := lockoutLadder(p)
	args := make([]any, 0, 20+2*len(ladder))
	args = append(args,
		networkField(at.Network), nowS, nowN, p.Attempts,
		flag(p.Retain > 0), retS, retN, keepS, keepN,
		flag(interval > 0), intS, intN, tolS, tolN, offS, offN,
		flag(at.PassLockout), flag(at.PassBudget), at.Check.CodeHash, s.maxNetworks)
	for _, d := range ladder {
		ds, dn := durationPair(d)
		args = append(args, ds, dn)
	}
	check := at.Check
	answer, err := checkScript.Run(ctx, s.client,
		[]string{s.countersKey(check.TenantID, check.Phone), s.challengeKey(check.TenantID, check.Phone)},
		args...).Slice()
	if err != nil {
		return store.Verdict{}, fmt.Errorf("redisstore: check code: %w", err)
	}
	a := reply(answer)
	if len(answer) != 7 {
		a.err = errAnswer
	}
	v := store.Verdict{
		Refused:        store.Refusal(a.int(0)),
		Lockouts:       int(a.int(3)),
		Counted:        a.int(5) == 1,
		StartedLockout: a.int(6) == 1,
	}
	switch v.Refused {
	case store.NotRefused:
		v.Code = a.outcome(4)
	case store.RefusedLockout, store.RefusedBudget:
		v.Until = a.time(1, now.Location())
	default:
		a.err = errAnswer
	}
	if a.err != nil {
		return store.Verdict{}, fmt.Errorf("redisstore: check code: %w: %v", a.err, answer)
	}
	return v, nil
}

// failuresKept is how long a network's failures are kept after its last
// one, as memstore keeps them: Retain (after which they no longer matter),
// and at least MaxLockout, so that without Retain (kept until cleared) they
// are still dropped and memory stays bounded.
func failuresKept(p store.GuessPolicy) time.Duration {
	return max(p.Retain, p.MaxLockout, 0)
}

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

// ConsumeChallenge implements store.Challenges in one round trip: of any
// number of concurrent callers with the right code, on any number of
// servers, exactly one gets nil and the others ErrChallengeUsed. Once used,
// a challenge answers ErrChallengeUsed only to its own code, and
// ErrCodeMismatch to any other. It counts nothing. A zero check.Now is
// taken from Config.Now.
func (s *Store) ConsumeChallenge(ctx context.Context, check store.CodeCheck) error {
	now := check.Now
	if now.IsZero() {
		now = s.now()
	}
	nowS, nowN := timePair(now)
	answer, err := consumeScript.Run(ctx, s.client,
		[]string{s.challengeKey(check.TenantID, check.Phone)},
		check.CodeHash, nowS, nowN,
	).Text()
	if err != nil {
		return fmt.Errorf("redisstore: consume challenge: %w", err)
	}
	outcome, ok := checkOutcomes[answer]
	if !ok {
		return fmt.Errorf("redisstore: consume challenge: %w %q", errAnswer, answer)
	}
	if outcome != nil {
		return fmt.Errorf("redisstore: %w", outcome)
	}
	return nil
}

// ClearCounters implements store.Challenges with one DEL: the phone's
// counters (every network's and the budget) are one key.
func (s *Store) ClearCounters(ctx context.Context, tenantID, phone string) error {
	if err := s.client.Del(ctx, s.countersKey(tenantID, phone)).Err(); err != nil {
		return fmt.Errorf("redisstore: clear counters: %w", err)
	}
	return nil
}

// networkField is the counters' field of a client network.
func networkField(network string) string { return "n:" + network }

// timePair is t as Unix seconds and nanoseconds in [0, 1e9).
func timePair(t time.Time) (int64, int64) { return t.Unix(), int64(t.Nanosecond()) }

// durationPair is d as seconds and nanoseconds in [0, 1e9): floored, so a
// negative d has negative seconds and the pair adds like a time's.
func durationPair(d time.Duration) (int64, int64) {
	sec, ns := int64(d/time.Second), int64(d%time.Second)
	if ns < 0 {
		sec, ns = sec-1, ns+int64(time.Second)
	}
	return sec, ns
}

// scriptReply reads a script's array answer; the first misfit is kept in err.
type scriptReply struct {
	vals []any
	err  error
}

func reply(vals []any) *scriptReply { return &scriptReply{vals: vals} }

func (r *scriptReply) int(i int) int64 {
	if i < len(r.vals) {
		if n, ok := r.vals[i].(int64); ok {
			return n
		}
	}
	if r.err == nil {
		r.err = errAnswer
	}
	return 0
}

func (r *scriptReply) bytes(i int) []byte {
	if i < len(r.vals) {
		if s, ok := r.vals[i].(string); ok {
			return bytesOf([]byte(s))
		}
	}
	if r.err == nil {
		r.err = errAnswer
	}
	return nil
}

// time reads the pair at i and i+1; Go's zero time reads as time.Time{}.
func (r *scriptReply) time(i int, loc *time.Location) time.Time {
	t := time.Unix(r.int(i), r.int(i+1))
	if t.IsZero() {
		return time.Time{}
	}
	return t.In(loc)
}

func (r *scriptReply) outcome(i int) error {
	if i < len(r.vals) {
		if s, ok := r.vals[i].(string); ok {
			if outcome, ok := checkOutcomes[s]; ok {
				if outcome == nil {
					return nil
				}
				return fmt.Errorf("redisstore: %w", outcome)
			}
		}
	}
	if r.err == nil {
		r.err = errAnswer
	}
	return nil
}

// bytesOf copies b, nil when empty (as memstore answers).
func bytesOf(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// formatTime writes t for people reading the keys; the scripts never parse it.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}
