package main

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/redisstore"
)

// TestRedisRestartPersistence shows what README says about a Redis restart:
// without the AOF the code sent before it is gone and is refused like any
// wrong code (401/1409, never a success), the old password keeps working,
// the lockout count (kept in Redis beside the code) is gone too,
// and a new code works; with the AOF
// (appendfsync always, so even a kill -9 keeps every write) the code sent
// before the restart still resets the password.
func TestRedisRestartPersistence(t *testing.T) {
	requireBinaries(t, "redis-server")
	for _, tc := range []struct {
		name      string
		args      []string
		oldCodeOK bool // the code sent before the restart still works
	}{
		{"without persistence", []string{"--appendonly", "no"}, false},
		{"with the AOF", []string{"--appendonly", "yes", "--appendfsync", "always"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rs, err := startRedis(ctx, t.TempDir(), tc.args...)
			require.NoError(t, err)
			t.Cleanup(rs.Close)
			client := redis.NewClient(&redis.Options{Addr: rs.Addr()})
			t.Cleanup(func() { _ = client.Close() })
			codes, err := redisstore.New(client, redisstore.Config{})
			require.NoError(t, err)
			limits, err := redisstore.NewLimiterStore(client, "")
			require.NoError(t, err)
			env := otpresettest.New(t,
				otpresettest.WithStore(store.Composite{Users: memstore.New(), Challenges: codes, Sessions: codes}),
				func(c *otpreset.Config, tn *otpreset.Tenant) {
					c.RateLimitStore = limits
					tn.Limits.LockoutAttempts = 3
				})
			const phone, oldPw, newPw = "+919876500001", "Old-P@ssw0rd1", "New-P@ssw0rd1"
			env.AddUser(phone, oldPw)
			require.Equal(t, 200, env.Send(phone).Code)
			code := env.Code(phone)
			// Two wrong codes: one short of the lockout.
			for range 2 {
				require.Equal(t, 401, env.Reset(phone, otherCode(code), newPw).Code)
			}

			rs.Close() // kill -9
			require.NoError(t, rs.start(ctx))
			require.Eventually(t, func() bool { return client.Ping(ctx).Err() == nil }, 10*time.Second, 20*time.Millisecond,
				"the client reconnects by itself")

			rec := env.Reset(phone, code, newPw)
			if tc.oldCodeOK {
				assert.Equal(t, 200, rec.Code, rec.Body.String())
				assert.True(t, env.PasswordWorks(phone, newPw))
				return
			}
			assert.Equal(t, 401, rec.Code, rec.Body.String())
			assert.Contains(t, rec.Body.String(), `"errorCode":1409`)
			assert.True(t, env.PasswordWorks(phone, oldPw), "the old password still works")
			// The two wrong codes before the restart and the lost code make
			// three failures, the lockout; but the count was lost with the
			// restart, so a new code goes through.
			require.Equal(t, 200, env.Send(phone).Code)
			rec = env.Reset(phone, env.Code(phone), newPw)
			assert.Equal(t, 200, rec.Code, rec.Body.String())
		})
	}
}

// otherCode is a code of the same length that is not code.
func otherCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}
