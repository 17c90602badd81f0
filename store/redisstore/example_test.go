package redisstore_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/redisstore"
)

// Users stay in the host's database; challenges, their counters and
// sessions go to Redis.
// The example's users are in memory; in production Users is the host's
// store (store/postgres, store/sqlite, or the host's own implementation of store.Users).
func Example() {
	ctx := context.Background()
	opt, err := redis.ParseURL(os.Getenv("OTPRESET_REDIS_URL")) // redis://127.0.0.1:6379/0
	if err != nil {
		fmt.Println(err)
		return
	}
	client := redis.NewClient(opt)
	defer client.Close()

	rs, err := redisstore.New(client, redisstore.Config{Prefix: "otpreset-example:"})
	if err != nil {
		fmt.Println(err)
		return
	}
	users := memstore.New() // the host's user table
	_ = users.AddUser(ctx, store.User{TenantID: "acme", ID: "user-1", Phone: "+919999999999",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$old"})
	st := store.Composite{Users: users, Challenges: rs, Sessions: rs}
	defer st.ClearCounters(ctx, "acme", "+919999999999") // leave the shared Redis as it was

	// Codes are stored only as HMACs under a server secret.
	codeHash := func(code string) []byte {
		m := hmac.New(sha256.New, []byte("server secret"))
		m.Write([]byte(code))
		return m.Sum(nil)
	}
	now := time.Now()
	issued, err := store.IssueCode(ctx, st, store.Issue{
		Challenge: store.Challenge{TenantID: "acme", Phone: "+919999999999", Nonce: []byte("nonce"),
			CodeHash: codeHash("123456"), CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), MaxAttempts: 5},
		Network:   "192.0.2.1",
		SendLimit: store.SendLimit{Limit: 3, Period: 15 * time.Minute},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("user:", issued.User.ID, "sends left:", issued.SendsLeft)

	policy := store.GuessPolicy{Attempts: 5, Lockout: 15 * time.Minute, MaxLockout: 24 * time.Hour, Retain: 30 * 24 * time.Hour}
	check := store.CodeCheck{TenantID: "acme", Phone: "+919999999999", CodeHash: codeHash("000000"), Now: now}
	v, err := st.CheckCode(ctx, store.Attempt{Check: check, Network: "192.0.2.1", Policy: policy})
	fmt.Println("wrong code:", errors.Is(v.Code, store.ErrCodeMismatch), "counted:", v.Counted, err)

	check.CodeHash = codeHash("123456")
	v, err = st.CheckCode(ctx, store.Attempt{Check: check, Network: "192.0.2.1", Policy: policy})
	fmt.Println("right code:", v.Code, "counted:", v.Counted, err)
	sess := store.Session{ID: "sess-1", TenantID: "acme", UserID: "user-1",
		AccessTokenHash: []byte("sha-256 of the access token"), RefreshTokenHash: []byte("sha-256 of the refresh token"),
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	err = store.ApplyReset(ctx, st, store.Reset{
		Check:      check,
		Change:     store.PasswordChange{TenantID: "acme", UserID: "user-1", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$new", ChangedAt: now},
		NewSession: &sess,
	})
	fmt.Println("reset:", err)
	fmt.Println("code reused:", errors.Is(st.ConsumeChallenge(ctx, check), store.ErrChallengeUsed))

	// A host that accepts the access_token looks it up in Redis.
	got, err := rs.LookupSession(ctx, "acme", sess.AccessTokenHash, now)
	fmt.Println("session of:", got.UserID, err)
	n, err := st.RevokeSessions(ctx, "acme", "user-1")
	fmt.Println("revoked:", n, err)
	// Output:
	// user: user-1 sends left: 2
	// wrong code: true counted: true <nil>
	// right code: <nil> counted: false <nil>
	// reset: <nil>
	// code reused: true
	// session of: user-1 <nil>
	// revoked: 1 <nil>
}

// Two limiters, as on two servers, share one count through Redis.
func ExampleNewLimiterStore() {
	ctx := context.Background()
	opt, err := redis.ParseURL(os.Getenv("OTPRESET_REDIS_URL"))
	if err != nil {
		fmt.Println(err)
		return
	}
	client := redis.NewClient(opt)
	defer client.Close()

	rate := limiter.Rate{Period: time.Hour, Limit: 3} // or limiter.NewRateFromFormatted("3-H")
	newLimiter := func() *limiter.Limiter {
		st, err := redisstore.NewLimiterStore(client, "otpreset-example:")
		if err != nil {
			panic(err)
		}
		return limiter.New(st, rate)
	}
	serverA, serverB := newLimiter(), newLimiter()

	const key = "send:acme:+919999999999"
	_, _ = serverA.Reset(ctx, key) // start from a clean count, as a test must
	defer serverA.Reset(ctx, key)
	for _, lim := range []*limiter.Limiter{serverA, serverB, serverA, serverB} {
		lc, err := lim.Get(ctx, key)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("remaining:", lc.Remaining, "reached:", lc.Reached)
	}
	// Output:
	// remaining: 2 reached: false
	// remaining: 1 reached: false
	// remaining: 0 reached: false
	// remaining: 0 reached: true
}
