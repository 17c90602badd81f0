// Package redisstore keeps otpreset's one-time-code challenges, the
// counters that guard them and sessions in Redis
// (github.com/redis/go-redis/v9), so that several servers share them: a code
// is single use across every instance, wrong tries are counted once
// whichever instance sees them, a client network's lockout and a phone's
// guessing budget hold across instances, and a reset revokes sessions issued
// by any instance.
//
// Store implements store.Challenges and store.Sessions. Users stay in the
// host's own database; join the two with store.Composite:
//
//	rs, err := redisstore.New(client, redisstore.Config{})
//	st := store.Composite{Users: hostUsers, Challenges: rs, Sessions: rs}
//
// A send (IssueChallenge) and a code check (CheckCode) are one Lua script
// each, one round trip: the send is counted against the network's limit and
// the phone's live code kept (or a new one saved) in one atomic step; the
// check decides the network's lockout and the phone's budget, compares the
// code and counts a failure in one atomic step, so concurrent requests never
// compare more codes than the counters allow. They follow store.NextIssue
// and store.NextAttempt to the nanosecond. A phone's keys share the hash tag
// {tenant:phone}: on a Redis Cluster each phone has one slot and every
// script stays in it. ClearCounters is one DEL.
//
// Every key has a TTL (a challenge's lifetime and retention, the longest
// period a counter matters, a session's lifetime), and a phone keeps the
// counters of at most Config.MaxNetworks networks, so memory stays bounded.
// Expiry is decided against the times the caller passes (CodeCheck.Now,
// Challenge.CreatedAt), so one clock decides. Without persistence (the AOF)
// a Redis restart forgets the counters; see README.md.
//
// A composite store is not atomic across its parts, so store.ApplyReset runs
// the steps one by one: when the password update in the host's database
// fails after the code was consumed, the old password still works and no
// session is revoked, but the code is spent (the user asks for a new one), as
// docs/contract.md allows.
//
// Check, called at start, pings the server (on a Redis Cluster every node,
// and checks the cluster's state and that every slot has a master); its
// errors wrap store.ErrNotReady.
//
// NewLimiterStore returns a github.com/ulule/limiter/v3 store on the same
// Redis, so the other rate limits are shared across instances too.
//
// The key layout, the scripts and the TTLs are described in README.md beside
// this file.
package redisstore
