package servertest

import (
	"testing"
)

// TestURLSkipsAndCounts: without its variable a test is skipped and
// counted, and the summary names the variables; with it, the value is
// returned and nothing is counted.
func TestURLSkipsAndCounts(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv(PostgresURLEnv, "")
	t.Setenv(RedisURLEnv, "redis://127.0.0.1:1/0")
	mu.Lock()
	saved := skipped
	skipped = map[string]int{}
	mu.Unlock()
	t.Cleanup(func() { mu.Lock(); skipped = saved; mu.Unlock() })

	if got := summary("store/x"); got != "" {
		t.Fatalf("nothing skipped yet, summary %q", got)
	}
	for range 2 {
		t.Run("needs PostgreSQL", func(t *testing.T) {
			URL(t, PostgresURLEnv)
			t.Error("URL returned without the variable")
		})
	}
	t.Run("needs Redis", func(t *testing.T) {
		if got := URL(t, RedisURLEnv); got != "redis://127.0.0.1:1/0" {
			t.Errorf("URL = %q", got)
		}
	})
	want := `otpreset: store/x: 2 tests skipped: set OTPRESET_POSTGRES_URL (README.md, "Server-backed tests")`
	if got := summary("store/x"); got != want {
		t.Errorf("summary\n got %s\nwant %s", got, want)
	}
	t.Run("needs a cluster", func(t *testing.T) {
		t.Setenv(RedisClusterAddrsEnv, "")
		URL(t, RedisClusterAddrsEnv)
	})
	want = `otpreset: store/x: 3 tests skipped: set OTPRESET_POSTGRES_URL, OTPRESET_REDIS_CLUSTER_ADDRS (README.md, "Server-backed tests")`
	if got := summary("store/x"); got != want {
		t.Errorf("summary\n got %s\nwant %s", got, want)
	}
}
