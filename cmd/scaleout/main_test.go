package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/internal/servertest"
	"github.com/otpreset/go/store"
)

// TestMain makes the test binary one of the harness's server processes
// when the harness starts it ("scaleout serve ..." with SCALEOUT_CHILD=serve),
// so the tests need no separate build.
func TestMain(m *testing.M) {
	if os.Getenv("SCALEOUT_CHILD") == "serve" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := serve(ctx, os.Args[2:], os.Stdout)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "scaleout serve:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	servertest.Main(m, "cmd/scaleout")
}

// ownServersForTest starts a PostgreSQL, a Redis and a Redis Cluster of the
// test's own (faults restart them, so they must not be the shared ones).
// Without the Debian packages it skips, and fails under CI.
func ownServersForTest(t *testing.T) *ownServers {
	t.Helper()
	requireBinaries(t, "redis-server", "redis-cli")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := startOwnServers(ctx, t.TempDir())
	if err != nil && strings.Contains(err.Error(), "no PostgreSQL") && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

// requireBinaries skips the test when a server program is not installed,
// and fails it under CI.
func requireBinaries(t *testing.T, bins ...string) {
	t.Helper()
	for _, bin := range bins {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not installed but CI is set", bin)
			}
			t.Skipf("%s not installed (apt-get install redis-server postgresql)", bin)
		}
	}
}

// requireNoViolations prints the report and fails on every violation.
func requireNoViolations(t *testing.T, rep *report) {
	t.Helper()
	var b strings.Builder
	rep.print(&b)
	t.Log("\n" + b.String())
	for _, v := range rep.Violations {
		t.Errorf("violation: %s", v)
	}
}

// TestFaults runs three instances on each backend, with each fault in the
// middle of the run: kill -9 of an instance, then the backend's restart
// (PostgreSQL stopped with -m fast and started, Redis shut down and started,
// a cluster master failed over with CLUSTER FAILOVER), and on the cluster a
// master killed with SIGKILL (its replica takes over). Every run must keep every invariant, answer
// during the fault within answerBound and resume by itself.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and runs for about a minute")
	}
	srv := ownServersForTest(t)
	exe, err := os.Executable()
	require.NoError(t, err)
	redisURL := "redis://" + srv.redis.Addr() + "/0"
	cluster := strings.TrimPrefix(srv.cluster.Spec(), "redis-cluster://")
	for _, backend := range []string{"postgres", "redis", "redis-cluster"} {
		faults := []string{"kill", "restart"}
		if backend == "redis-cluster" {
			faults = append(faults, "kill-master") // last: the cluster stays one replica short
		}
		for _, f := range faults {
			t.Run(backend+"/"+f, func(t *testing.T) {
				d := 4 * time.Second
				if f == "kill-master" {
					d = 10 * time.Second // the failover takes about 5 s
				}
				cfg := runConfig{
					Backend: backend, Postgres: srv.pg.URL(), Instances: 3, Clients: 16,
					Phones: 300, Duration: d, Exe: exe,
				}
				require.NoError(t, backendConfig(&cfg, redisURL, cluster))
				cfg.Fault, err = faultFor(backend, f, srv, d)
				require.NoError(t, err)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				rep, err := execute(ctx, cfg)
				require.NoError(t, err)
				requireNoViolations(t, rep)
				assert.Positive(t, rep.Resets, "some resets must succeed")
				if f == "kill-master" || f == "restart" && backend != "redis-cluster" {
					assert.Positive(t, rep.Errors950, "requests during the outage must meet it (950)")
				}
				if f == "kill" {
					assert.Positive(t, rep.OthersAnswering)
				}
			})
		}
	}
}

// TestCheckerCatches shows the checker failing a run that broke each
// invariant: it is given a made-up record of requests over a real user
// table.
func TestCheckerCatches(t *testing.T) {
	pg := servertest.URL(t, servertest.PostgresURLEnv)
	ctx := context.Background()
	r := &run{
		cfg:    runConfig{Backend: "fake", Store: "redis://unused", Phones: 20},
		tenant: "checker-" + randomHex(4), codes: map[string][]string{}, sms: map[string]int{},
		events: map[string]int{}, eventUID: map[string]string{}, uidPhone: map[string]string{}, killed: -1,
	}
	pgURL, drop, err := newSchema(ctx, pg)
	require.NoError(t, err)
	t.Cleanup(drop)
	r.pgURL = pgURL
	require.NoError(t, r.seed(ctx))
	st, err := openUsers(ctx, pgURL)
	require.NoError(t, err)
	defer st.Close()

	now := time.Now()
	at := func(ms int) time.Time { return now.Add(time.Duration(ms) * time.Millisecond) }
	p := r.phones
	// p[0] (attacked): 6 wrong codes refused. p[2]: one code succeeded twice.
	// p[3]: the password of a refused request is set. p[4]: 200 but no
	// event. p[5]: 4 SMS. p[6]: an event without a reset. p[7]: a 500 that
	// is not 950. p[8]: an answer slower than the bound. p[9] and p[10]
	// reset once, which clears the send count: 6 SMS are within the limit,
	// 7 are not. p[11] and p[12] reset once too: p[11] had 4 sends before
	// it; p[12] 2 before, one overlapping it (counted on either side) and 3
	// after, within the limit. p[13] and p[14] reset once: p[13] had 5
	// wrong codes before it and 5 after (the success cleared the lockout),
	// p[14] 6 before.
	for i := range 6 {
		r.ops = append(r.ops, op{kind: 'w', phone: p[0], code: "000000", password: "w" + fmt.Sprint(i), status: 401, start: at(i), end: at(i + 1)})
	}
	for i := range 2 {
		r.ops = append(r.ops, op{kind: 'r', phone: p[2], code: "123456", password: "twice" + fmt.Sprint(i), status: 200, uid: "u-2", start: at(i), end: at(i + 1)})
		r.events["ev-2-"+fmt.Sprint(i)] = 1
		r.eventUID["ev-2-"+fmt.Sprint(i)] = "u-2"
	}
	setPassword(t, st, r.tenant, "u-2", "twice1")
	r.ops = append(r.ops, op{kind: 'w', phone: p[3], code: "999999", password: "refused", status: 401, start: at(0), end: at(1)})
	setPassword(t, st, r.tenant, "u-3", "refused")
	r.ops = append(r.ops, op{kind: 'r', phone: p[4], code: "111111", password: "no-event", status: 200, uid: "u-4", start: at(0), end: at(1)})
	setPassword(t, st, r.tenant, "u-4", "no-event")
	r.sms[p[5]] = 4
	r.events["ev-6"], r.eventUID["ev-6"] = 1, "u-6"
	r.ops = append(r.ops, op{kind: 'r', phone: p[7], code: "222222", password: "x", status: 500, errCode: 1234, start: at(0), end: at(1)})
	r.ops = append(r.ops, op{kind: 's', phone: p[8], status: 200, start: at(0), end: at(0).Add(answerBound + time.Second)})
	sendsAt := map[int][]int{11: {0, 2, 4, 6}, 12: {0, 2, 11, 20, 22, 24}}
	wrongAt := map[int][]int{13: {0, 1, 2, 3, 4, 20, 21, 22, 23, 24}, 14: {0, 1, 2, 3, 4, 5}}
	for i, sms := range map[int]int{9: 6, 10: 7, 11: 4, 12: 6, 13: 0, 14: 0} {
		uid, pw := fmt.Sprintf("u-%d", i), fmt.Sprintf("reset-%d", i)
		r.ops = append(r.ops, op{kind: 'r', phone: p[i], code: "333333", password: pw, status: 200, uid: uid, start: at(10), end: at(12)})
		setPassword(t, st, r.tenant, uid, pw)
		r.events["ev-"+uid], r.eventUID["ev-"+uid] = 1, uid
		r.sms[p[i]] = sms
		for _, ms := range sendsAt[i] {
			r.ops = append(r.ops, op{kind: 's', phone: p[i], status: 200, start: at(ms), end: at(ms + 1)})
		}
		for _, ms := range wrongAt[i] {
			r.ops = append(r.ops, op{kind: 'w', phone: p[i], code: "000000", password: fmt.Sprint("w", ms), status: 401, start: at(ms), end: at(ms + 1)})
		}
	}

	rep, err := r.check(ctx)
	require.NoError(t, err)
	all := strings.Join(rep.Violations, "\n")
	for _, want := range []string{
		lockoutOvershoot + " attacked " + p[0],
		"code " + p[2] + " 123456 succeeded 2 times",
		p[3] + ": the password of a request answered 401 was set",
		p[4] + ": 1 resets answered 200 but 0 webhook events",
		p[5] + " got 4 SMS (limit 3",
		p[10] + " got 7 SMS (limit 6",
		p[11] + " had 4 sends answered 200 between two resets",
		lockoutOvershoot + " " + p[14] + " had 6 wrong codes",
		p[6] + ": 1 webhook events for 0 resets",
		"500 with ErrorCode 1234",
		"s " + p[8] + " on instance 0 took",
	} {
		assert.Contains(t, all, want)
	}
	assert.Len(t, rep.Violations, 11, all)
}

func setPassword(t *testing.T, st *pgStore, tenant, uid, pw string) {
	t.Helper()
	hash, err := argon2id.CreateHash(pw, harnessArgon2)
	require.NoError(t, err)
	require.NoError(t, st.UpdatePassword(context.Background(), store.PasswordChange{
		TenantID: tenant, UserID: uid, PasswordHash: hash, Profile: []byte(`{"Uid":"` + uid + `"}`), ChangedAt: time.Now(),
	}))
}

// TestHarnessCommand runs the command as a user would, on the shared
// servers, briefly, and checks what it refuses.
func TestHarnessCommand(t *testing.T) {
	pg := servertest.URL(t, servertest.PostgresURLEnv)
	rd := servertest.URL(t, servertest.RedisURLEnv)
	ctx := context.Background()
	base := []string{"-postgres", pg, "-redis", rd, "-redis-cluster", ""}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"restart without own servers", []string{"-backends", "redis", "-faults", "restart"}, "needs -start-servers"},
		{"unknown backend", []string{"-backends", "mysql"}, `unknown backend "mysql"`},
		{"unknown fault", []string{"-backends", "redis", "-faults", "flood"}, `unknown fault "flood"`},
		{"cluster without nodes", []string{"-backends", "redis-cluster"}, "give -redis-cluster"},
		{"two instances", []string{"-backends", "redis", "-faults", "none", "-instances", "2"}, "at least 3 instances"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			err := harness(ctx, append(append([]string{}, base...), tc.args...), &out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	t.Run("a short run prints its report", func(t *testing.T) {
		var out strings.Builder
		err := harness(ctx, append(base, "-backends", "redis", "-duration", "1s", "-clients", "4", "-phones", "50"), &out)
		report := out.String()
		t.Log("\n" + report)
		// Without -start-servers: no fault, then the kill.
		assert.Contains(t, report, "backend=redis fault=none instances=3 clients=4 duration=1s")
		assert.Contains(t, report, "backend=redis fault=kill -9 of one instance")
		assert.Contains(t, report, "successful resets=")
		assert.Contains(t, report, "violations=0")
		require.NoError(t, err)
	})
}
