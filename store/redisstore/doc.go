// Package redisstore keeps otpreset's one-time-code challenges, sessions and
// guessing budget in Redis (github.com/redis/go-redis/v9), so that several
// servers share them: a code is single use across every instance, wrong
// tries are counted once whichever instance sees them, the failed codes of a
// phone and its escalating lockout hold across instances, and a reset
// revokes sessions issued by any instance.
//
// Store implements store.Challenges, store.Sessions and store.Guesses. Users
// stay in the host's own database; join the two with store.Composite:
//
//	rs, err := redisstore.New(client, redisstore.Config{})
//	st := store.Composite{Users: hostUsers, Challenges: rs, Sessions: rs, Guesses: rs}
//
// TakeGuess decides whether a phone is locked and counts the guess in one
// script (one EVALSHA), so concurrent requests never compare more codes
// than the budget allows. Without persistence (the AOF) a Redis restart
// forgets the failure counts; see README.md.
//
// Every operation that reads and then writes runs as one Lua script, so it is
// atomic in Redis: VerifyChallenge and ConsumeChallenge check expiry, the
// attempt limit and the code, count a wrong try and (for Consume) mark the
// code used in one step. Keys get Redis TTLs derived from the challenge's and
// session's ExpiresAt, and expiry is also decided against the time the caller
// passes in (CodeCheck.Now), so one clock decides.
//
// A composite store is not atomic across its parts, so store.ApplyReset runs
// the steps one by one: when the password update in the host's database
// fails after the code was consumed, the old password still works and no
// session is revoked, but the code is spent (the user asks for a new one), as
// CONTRACT.md allows.
//
// Check, called at start, pings the server (on a Redis Cluster every node,
// and checks the cluster's state and that every slot has a master); its
// errors wrap store.ErrNotReady.
//
// NewLimiterStore returns a github.com/ulule/limiter/v3 store on the same
// Redis, so rate limits and lockouts are shared across instances too.
//
// The key layout, the scripts and the TTLs are described in README.md beside
// this file.
package redisstore
