// Package servers names the real servers this repository's tests run
// against (PostgreSQL, Redis, a Redis Cluster) and finds them in the
// environment. It is CI plumbing, not part of the library: a host's own
// tests name their servers however they like (storetest.PostgresSchema takes
// a plain connection string).
package servers

import (
	"os"
	"testing"
)

// Environment variables naming the real servers adapter tests run against;
// bash .ci/run starts them on loopback and sets them.
const (
	PostgresURLEnv = "OTPRESET_POSTGRES_URL"
	RedisURLEnv    = "OTPRESET_REDIS_URL"
	// RedisClusterAddrsEnv lists the nodes of a Redis Cluster, comma
	// separated (127.0.0.1:57001,127.0.0.1:57002,...); bash
	// .ci/redis-cluster starts one.
	RedisClusterAddrsEnv = "OTPRESET_REDIS_CLUSTER_ADDRS"
)

// URL returns the server URL in the environment variable env. When it is
// unset the test is skipped on a developer's machine but fails when CI is
// set, so a CI run that lost its server cannot pass by skipping.
func URL(t testing.TB, env string) string {
	t.Helper()
	u := os.Getenv(env)
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set but CI is: the tests that need this server must run in CI", env)
		}
		t.Skipf("%s is not set: skipping the tests that need this server (bash .ci/run starts one and sets it)", env)
	}
	return u
}
