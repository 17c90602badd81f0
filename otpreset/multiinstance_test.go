package otpreset_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/internal/servertest"
	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/postgres"
	"github.com/otpreset/go/store/redisstore"
)

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// pgSchema creates a schema of its own for the test and returns a URL whose
// search_path is that schema.
func pgSchema(t testing.TB) string {
	base := servertest.URL(t, servertest.PostgresURLEnv)
	ctx := context.Background()
	schema := randomName("otpreset_mi_")
	conn, err := pgx.Connect(ctx, base)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			_ = conn.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// instance is one "server": its own connection pools, its own handler.
type instance struct {
	env   *otpresettest.Env
	users *postgres.Store
}

// Where the two instances keep codes and sessions: PostgreSQL (beside the
// users), one Redis server, or a Redis Cluster of three masters.
const (
	onPostgres     = "postgres"
	onRedis        = "redis codes, postgres users"
	onRedisCluster = "redis cluster codes, postgres users"
)

// twoInstances builds two handlers that share one PostgreSQL schema (users,
// and codes and sessions on onPostgres) and one Redis or Redis Cluster (rate
// limits, and codes and sessions otherwise), each with its own connections.
func twoInstances(t *testing.T, codesOn string, limits otpreset.Limits) [2]instance {
	pgURL := pgSchema(t)
	newClient := redisClient(t, codesOn)
	prefix := randomName("otpreset-mi-") + ":"
	tenantID := randomName("tenant-")
	ctx := context.Background()
	var out [2]instance
	for i := range out {
		pg, err := postgres.Open(ctx, pgURL, postgres.Config{})
		require.NoError(t, err)
		t.Cleanup(pg.Close)
		if i == 0 {
			require.NoError(t, pg.Migrate(ctx))
		}
		client := newClient()
		t.Cleanup(func() { _ = client.Close() })
		var st store.Store = pg
		if codesOn != onPostgres {
			rs, err := redisstore.New(client, redisstore.Config{Prefix: prefix})
			require.NoError(t, err)
			st = store.Composite{Users: pg, Challenges: rs, Sessions: rs}
		}
		lim, err := redisstore.NewLimiterStore(client, prefix)
		require.NoError(t, err)
		env := otpresettest.New(t, func(c *otpreset.Config, tn *otpreset.Tenant) {
			c.Store = st
			c.RateLimitStore = lim
			tn.ID = tenantID
			tn.Limits = limits
		})
		out[i] = instance{env: env, users: pg}
	}
	hash, err := out[0].env.Hasher.Hash(ctx, oldPass)
	require.NoError(t, err)
	require.NoError(t, out[0].users.AddUser(ctx, store.User{TenantID: tenantID, ID: "user-1", Phone: phone, PasswordHash: hash, Profile: []byte(`{"Uid":"user-1"}`)}))
	return out
}

// redisClient answers a constructor of clients of the Redis the instances
// share: the cluster for onRedisCluster, else the single server. It skips
// (fails under CI) without one.
func redisClient(t *testing.T, codesOn string) func() redis.UniversalClient {
	if codesOn == onRedisCluster {
		addrs := strings.Split(servertest.URL(t, servertest.RedisClusterAddrsEnv), ",")
		return func() redis.UniversalClient { return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs}) }
	}
	opt, err := redis.ParseURL(servertest.URL(t, servertest.RedisURLEnv))
	require.NoError(t, err)
	return func() redis.UniversalClient { return redis.NewClient(opt) }
}

func passwordIs(t *testing.T, in instance, tenantID, pw string) bool {
	u, err := in.users.UserByPhone(context.Background(), tenantID, phone)
	require.NoError(t, err)
	ok, err := in.env.Hasher.Compare(context.Background(), pw, u.PasswordHash)
	require.NoError(t, err)
	return ok
}

func TestTwoInstancesShareState(t *testing.T) {
	for _, codesOn := range []string{onPostgres, onRedis, onRedisCluster} {
		t.Run(codesOn, func(t *testing.T) {
			t.Run("code sent through one is accepted by the other", func(t *testing.T) {
				in := twoInstances(t, codesOn, otpreset.Limits{})
				require.Equal(t, 200, in[0].env.Send(phone).Code)
				rec := in[1].env.Reset(phone, in[0].env.Code(phone), newPass)
				require.Equal(t, 200, rec.Code, rec.Body.String())
				assert.True(t, passwordIs(t, in[1], in[1].env.Tenant.ID, newPass))
				assert.False(t, passwordIs(t, in[0], in[0].env.Tenant.ID, oldPass))
			})
			t.Run("200 concurrent correct resets over both: one wins", func(t *testing.T) {
				in := twoInstances(t, codesOn, otpreset.Limits{ResetPerIP: "off", LockoutAttempts: 1000})
				require.Equal(t, 200, in[0].env.Send(phone).Code)
				code := in[0].env.Code(phone)
				const n = 200
				statuses := make([]int, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						statuses[i] = in[i%2].env.Reset(phone, code, newPass).Code
					}()
				}
				wg.Wait()
				wins := 0
				for _, s := range statuses {
					if s == 200 {
						wins++
					} else {
						assert.Equal(t, 401, s)
					}
				}
				assert.Equal(t, 1, wins)
			})
			t.Run("per-phone limits hold across both", func(t *testing.T) {
				in := twoInstances(t, codesOn, otpreset.Limits{SendPerPhone: "3-15M"})
				for i := 0; i < 3; i++ {
					require.Equal(t, 200, in[i%2].env.Send(phone).Code)
				}
				assert.Equal(t, 429, in[1].env.Send(phone).Code)
				assert.Equal(t, 429, in[0].env.Send(phone).Code)
			})
			t.Run("lockout holds across both", func(t *testing.T) {
				in := twoInstances(t, codesOn, otpreset.Limits{})
				in[0].env.Send(phone)
				code := in[0].env.Code(phone)
				for i := 0; i < 5; i++ {
					require.Equal(t, 401, in[i%2].env.Reset(phone, wrong(code), newPass).Code)
				}
				rec := in[1].env.Reset(phone, code, newPass)
				assert.Equal(t, 1198.0, errorCode(t, rec.Body.Bytes()))
			})
		})
	}
}
