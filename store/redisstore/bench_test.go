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
	b.Run("SaveThenConsume", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c := next()
				if err := s.SaveChallenge(ctx, c); err != nil {
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
		if err := s.SaveChallenge(ctx, c); err != nil {
			b.Fatal(err)
		}
		wrong := randomBytes(b, 32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.VerifyChallenge(ctx, checkOf(c, wrong, base)); err == nil {
					b.Fatal("wrong code accepted")
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
