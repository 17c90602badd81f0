package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/redisstore"
	"github.com/otpreset/go/store/storetest"
)

// seededComposite is the production shape: users elsewhere (here memstore's
// user part, in production the host's database), challenges, their
// counters and sessions in Redis. AddUser lets the suite create its users;
// LookupSession, as a host that accepts the access_token would call it on
// Redis, lets it look sessions up.
type seededComposite struct {
	store.Composite
	users *memstore.Store
	rs    *redisstore.Store
}

func (c seededComposite) AddUser(ctx context.Context, u store.User) error {
	return c.users.AddUser(ctx, u)
}

func (c seededComposite) LookupSession(ctx context.Context, tenantID string, accessTokenHash []byte, now time.Time) (store.Session, error) {
	return c.rs.LookupSession(ctx, tenantID, accessTokenHash, now)
}

var (
	_ storetest.UserSeeder    = seededComposite{}
	_ storetest.SessionLookup = seededComposite{}
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		rs, _, _ := newStore(t, redisstore.Config{})
		return composite(rs)
	})
}

// TestConformanceCluster runs the same suite on a Redis Cluster of three
// masters: every script must find all its keys in one slot there.
func TestConformanceCluster(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		rs, _, _ := newClusterStore(t, redisstore.Config{})
		return composite(rs)
	})
}

func composite(rs *redisstore.Store) seededComposite {
	users := memstore.New()
	return seededComposite{
		Composite: store.Composite{Users: users, Challenges: rs, Sessions: rs},
		users:     users,
		rs:        rs,
	}
}
