package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/redisstore"
)

// BenchmarkChallenge measures one round trip per operation against the test
// Redis (OTPRESET_REDIS_URL), from parallel goroutines on distinct phones.
func BenchmarkChallenge(b *testing.B) {
	s, _, _ := newStore(b, redisstore.Config{})
	ctx := context.Background()
	var seq atomic.Int64
	next := func() store.Challenge {
		c := challenge(b, tenantA, 5)
		c.Phone = fmt.Sprintf("+1415555%06d", seq.Add(1))
		return c
	}
	issue := func(c store.Challenge) error {
		_, err := s.IssueChallenge(ctx, store.Issue{Challenge: c, Network: testNetwork, SendLimit: store.SendLimit{Limit: 3, Period: 15 * time.Minute}})
		return err
	}
	b.Run("IssueThenConsume", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c := next()
				if err := issue(c); err != nil {
					b.Fatal(err)
				}
				if err := s.ConsumeChallenge(ctx, checkOf(c, c.CodeHash, base)); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("WrongTry", func(b *testing.B) {
		c := next()
		c.MaxAttempts = 1 << 30
		if err := issue(c); err != nil {
			b.Fatal(err)
		}
		wrong := randomBytes(b, 32)
		// Every try counted by the network and the budget, none refused.
		p := defaultPolicy
		p.Attempts, p.Budget = 0, 0
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				v, err := s.CheckCode(ctx, store.Attempt{Check: checkOf(c, wrong, base), Network: testNetwork, Policy: p})
				if err != nil || !v.Counted {
					b.Fatalf("wrong code: %+v, %v", v, err)
				}
			}
		})
	})
	b.Run("RevokeFiveSessions", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			user := fmt.Sprintf("user-%d", i)
			for range 5 {
				if err := s.CreateSession(ctx, session(b, tenantA, user, time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
			if n, err := s.RevokeSessions(ctx, tenantA, user); err != nil || n != 5 {
				b.Fatalf("revoked %d, %v", n, err)
			}
		}
	})
}
