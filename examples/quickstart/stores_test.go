package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
)

// inCI reports whether the test runs in CI: CI set (.ci/run sets CI=true),
// and not to false or 0.
func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// serverEnv returns the environment variable naming a test server. Unset,
// the test is skipped on a developer's machine but fails in CI (CI set),
// where .ci/run starts every server.
func serverEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if inCI() {
			t.Fatalf("%s is not set but CI is: this store kind must be served in CI", name)
		}
		t.Skipf("%s is not set: skipping this store kind (bash .ci/run starts the server and sets it)", name)
	}
	return v
}

// randomPhone is an Indian mobile number no other test uses, so that codes,
// limits and the guessing budget left in a shared server by earlier runs do
// not meet this one.
func randomPhone(t *testing.T) string {
	t.Helper()
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(1e9))
		require.NoError(t, err)
		p, err := otpreset.NormalizePhone(fmt.Sprintf("+919%09d", n.Int64()))
		if err == nil {
			return p
		}
	}
}

// postgresSchemaURL creates a schema of its own on the server in url, drops
// it when the test ends, and returns url with that schema as search_path, so
// the quickstart's migration and demo user are this test's alone.
func postgresSchemaURL(t *testing.T, base string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "quickstart_test_" + hex.EncodeToString(b)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	require.NoError(t, err, "want a postgres:// URL")
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestServesOnEveryStoreKind starts the quickstart with each kind of -store
// it offers, the flag's value as an operator would type it, and asks for a
// code and resets the password with it: both must answer 200, and the new
// password logs in. Kinds that need a server run where its environment
// variable is set (always in CI). The Redis kinds once answered every
// request 500 (a nil guessing budget behind store.Composite).
func TestServesOnEveryStoreKind(t *testing.T) {
	secret := "9f3c1b7e42d85a06e1f4c93b7a2d5e8016b94c3fa7e2d1c05b8f6a4e3d2c1b0a" // 64 hex digits, none patterned (New refuses a patterned secret)
	specs := map[string]func(t *testing.T) string{
		kindMemory: func(*testing.T) string { return "memory" },
		kindSQLite: func(t *testing.T) string { return "sqlite:" + t.TempDir() + "/kinds.db" },
		kindPostgres: func(t *testing.T) string {
			return postgresSchemaURL(t, serverEnv(t, "OTPRESET_POSTGRES_URL"))
		},
		kindRedis: func(t *testing.T) string { return serverEnv(t, "OTPRESET_REDIS_URL") },
		kindRedisCluster: func(t *testing.T) string {
			return "redis-cluster://" + serverEnv(t, "OTPRESET_REDIS_CLUSTER_ADDRS")
		},
	}
	for _, kind := range allStoreKinds {
		t.Run(kind, func(t *testing.T) {
			spec := specs[kind]
			require.NotNil(t, spec, "the -store kind %q is offered but not served here: add it", kind)
			flagValue := spec(t)
			parsed, err := parseStore(flagValue)
			require.NoError(t, err)
			require.Equal(t, kind, parsed.kind, "the flag value %q is read as this kind", flagValue)

			phone := randomPhone(t)
			base, out := startQuickstart(t, "-apikey", "k", "-phone", phone, "-secret", secret, "-store", flagValue)
			status, body := call(t, "POST", base+"/identity/v2/auth/password/otp?apikey=k", `{"phone":"`+phone+`"}`, nil)
			require.Equal(t, 200, status, "send on %s: %s\n%s", kind, body, out)
			m := codeLineFor(phone).FindStringSubmatch(out.String())
			require.NotNil(t, m, "no code sent on %s:\n%s", kind, out)
			status, body = call(t, "PUT", base+"/identity/v2/auth/password/otp?apikey=k", `{"phone":"`+phone+`","otp":"`+m[1]+`","Password":"new password on `+kind+`"}`, nil)
			require.Equal(t, 200, status, "reset on %s: %s\n%s", kind, body, out)
			assert.Contains(t, body, `"access_token":"`)
			status, body = call(t, "POST", base+"/identity/v2/auth/login?apikey=k", `{"phone":"`+phone+`","password":"new password on `+kind+`"}`, nil)
			assert.Equal(t, 200, status, "the new password logs in: %s", body)
			assert.NotContains(t, out.String(), "panic", "nothing panicked while serving")
		})
	}
	assert.Len(t, specs, len(allStoreKinds), "every kind served here is one the quickstart offers")
}
