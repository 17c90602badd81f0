package storetest

import (
	"testing"

	"github.com/otpreset/go/internal/servertest"
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

// ServerURL returns the server URL in the environment variable env. When it
// is unset the test is skipped on a developer's machine but fails when CI is
// set, so a CI run that lost its server cannot pass by skipping.
func ServerURL(t testing.TB, env string) string {
	t.Helper()
	return servertest.URL(t, env) // counted for the package's skip summary
}
