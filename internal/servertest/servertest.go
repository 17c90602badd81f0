// Package servertest is the plumbing of the tests that need a real
// PostgreSQL or Redis server: URL skips such a test when the server's
// variable is unset (and fails it under CI), and Main, a package's TestMain,
// then says in one line how many tests skipped and what to set, so that a
// plain "go test ./..." does not pass for coverage it did not have.
package servertest

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Environment variables naming the servers (README, "Server-backed tests").
const (
	PostgresURLEnv = "OTPRESET_POSTGRES_URL"
	RedisURLEnv    = "OTPRESET_REDIS_URL"
	// RedisClusterAddrsEnv lists a Redis Cluster's nodes, comma separated.
	RedisClusterAddrsEnv = "OTPRESET_REDIS_CLUSTER_ADDRS"
)

var (
	mu      sync.Mutex
	skipped = map[string]int{} // variable -> tests skipped for want of it
)

// URL returns the value of the environment variable env. When it is unset
// the test is skipped on a developer's machine, and counted for Main's
// summary, but fails when CI is set, so a CI run that lost its server cannot
// pass by skipping.
func URL(t testing.TB, env string) string {
	t.Helper()
	u := os.Getenv(env)
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set but CI is: the tests that need this server must run in CI", env)
		}
		mu.Lock()
		skipped[env]++
		mu.Unlock()
		t.Skipf("%s is not set: skipping the tests that need this server (README.md, \"Server-backed tests\")", env)
	}
	return u
}

// Main runs the package's tests (pkg names it in the summary, as
// "store/postgres") and exits with their status. When tests were skipped
// for want of a server it prints one line, for instance
//
//	otpreset: store/postgres: 41 tests skipped: set OTPRESET_POSTGRES_URL (README.md, "Server-backed tests")
//
// go test shows a passing package's output only with -v, so without -v the
// line goes to the terminal the tests run in, when there is one. A cached
// result prints nothing (go test -count=1 runs the tests again).
func Main(m *testing.M, pkg string) {
	code := m.Run()
	if line := summary(pkg); line != "" {
		say(line)
	}
	os.Exit(code)
}

// say prints line where the person running the tests sees it: on stdout
// with -v, else on the terminal (or, without one, on stdout, which go test
// shows when the package fails).
func say(line string) {
	if !testing.Verbose() {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			fmt.Fprintln(tty, line)
			_ = tty.Close()
			return
		}
	}
	fmt.Fprintln(os.Stdout, line)
}

// summary is Main's line, or "" when nothing was skipped.
func summary(pkg string) string {
	mu.Lock()
	defer mu.Unlock()
	n, vars := 0, make([]string, 0, len(skipped))
	for v, k := range skipped {
		n += k
		vars = append(vars, v)
	}
	if n == 0 {
		return ""
	}
	slices.Sort(vars)
	tests := "tests"
	if n == 1 {
		tests = "test"
	}
	return fmt.Sprintf("otpreset: %s: %d %s skipped: set %s (README.md, \"Server-backed tests\")", pkg, n, tests, strings.Join(vars, ", "))
}
