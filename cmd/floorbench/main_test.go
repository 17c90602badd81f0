package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/internal/servertest"
)

// TestMain lets the run start the test binary again as its servers.
func TestMain(m *testing.M) {
	if mode := os.Getenv(serveEnv); mode != "" {
		os.Exit(childMain(mode, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestParseProcStat(t *testing.T) {
	data := []byte("cpu  100 5 50 1000 20 3 7 11 13 17\ncpu0 50 2 25 500 10 1 3 5 6 8\nintr 12345\n")
	m, err := parseProcStat(data)
	require.NoError(t, err)
	assert.Equal(t, machineTimes{user: 100, nice: 5, system: 50, idle: 1000, iowait: 20, irq: 3, softirq: 7, steal: 11}, m)
	// Busy is user+nice+system+irq+softirq: not idle, iowait, steal, nor
	// guest (13) and guest_nice (17), which user and nice already hold.
	assert.Equal(t, uint64(165), m.busy())

	_, err = parseProcStat([]byte("cpu0 1 2 3 4 5 6 7 8\n"))
	assert.Error(t, err, "no aggregate line")
	_, err = parseProcStat([]byte("cpu 1 2 3\n"))
	assert.Error(t, err, "too few fields")
	_, err = parseProcStat([]byte("cpu 1 2 x 4 5 6 7 8\n"))
	assert.Error(t, err, "not a number")
}

func TestParsePidStat(t *testing.T) {
	// Field 14 utime 250, field 15 stime 40; the name holds a space and a ')'.
	line := "4242 (floor bench) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 40 0 0 20 0 9 0 100 1000000 300\n"
	n, err := parsePidStat([]byte(line))
	require.NoError(t, err)
	assert.Equal(t, uint64(290), n)
	_, err = parsePidStat([]byte("4242 (x) S 1 2 3"))
	assert.Error(t, err)
	_, err = parsePidStat([]byte("no name here"))
	assert.Error(t, err)
}

func TestCPUBetween(t *testing.T) {
	a := cpuSample{machine: machineTimes{user: 1000, system: 500, idle: 9000}, self: 2 * time.Second, server: 300}
	b := cpuSample{machine: machineTimes{user: 1300, system: 700, idle: 9100, iowait: 50, steal: 40}, self: 3500 * time.Millisecond, server: 420}
	u := cpuBetween(a, b)
	assert.Equal(t, 5*time.Second, u.Machine, "500 ticks busy at USER_HZ 100")
	assert.Equal(t, 1500*time.Millisecond, u.Generator)
	assert.Equal(t, 3500*time.Millisecond, u.Server, "the machine less the generator")
	assert.Equal(t, 1200*time.Millisecond, u.ServerProcess)
	assert.Equal(t, 350*time.Microsecond, perRequest(u.Server, 10000))
	assert.Zero(t, perRequest(u.Server, 0))
	assert.InDelta(t, 1.75, busyCPUs(u.Server, 2*time.Second), 1e-9, "3.5 s of CPU over 2 s")
	assert.Zero(t, busyCPUs(u.Server, 0))

	// The generator read a tick after the machine: never a negative server.
	c := b
	c.self = b.self + 10*time.Second
	assert.Zero(t, cpuBetween(a, c).Server)
}

func TestPercentile(t *testing.T) {
	var lats []time.Duration
	for i := 1; i <= 100; i++ {
		lats = append(lats, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 50*time.Millisecond, percentile(lats, 0.50))
	assert.Equal(t, 99*time.Millisecond, percentile(lats, 0.99))
	assert.Equal(t, 100*time.Millisecond, percentile(lats, 1))
	assert.Equal(t, time.Millisecond, percentile(lats, 0))
	assert.Equal(t, 7*time.Millisecond, percentile([]time.Duration{7 * time.Millisecond}, 0.99))
	assert.Zero(t, percentile(nil, 0.5))
	// Nearest rank: of 3, the median is the 2nd, the 99th percentile the 3rd.
	three := []time.Duration{1, 2, 3}
	assert.Equal(t, time.Duration(2), percentile(three, 0.5))
	assert.Equal(t, time.Duration(3), percentile(three, 0.99))
}

func phase(server string, round int, requests int64, seconds float64, serverCPU time.Duration, lats ...time.Duration) phaseResult {
	return phaseResult{
		Scenario: scenarioWrong, Server: server, Round: round, Requests: requests, Seconds: seconds,
		Throughput: float64(requests) / seconds, CPU: cpuUse{Server: serverCPU, ServerProcess: serverCPU / 2}, lats: lats,
	}
}

func TestSumAndCompare(t *testing.T) {
	ms := time.Millisecond
	o := []phaseResult{
		phase(serveOtpreset, 1, 900, 1, 900*ms, 3*ms, 1*ms),
		phase(serveOtpreset, 2, 700, 1, 700*ms, 2*ms),
	}
	f := []phaseResult{
		phase(serveFloor, 1, 1000, 1, 800*ms, 1*ms),
		phase(serveFloor, 2, 1000, 1, 800*ms, 1*ms),
	}
	to, tf := sum(o), sum(f)
	assert.Equal(t, int64(1600), to.Requests)
	assert.InDelta(t, 800, to.Throughput, 1e-9, "all requests over all seconds")
	assert.Equal(t, ms, to.CPUPerRequest, "all CPU over all requests")
	assert.Equal(t, ms/2, to.ProcessPerRequest)
	assert.Equal(t, 2.0, to.P50Ms, "percentiles over every round's latencies")
	assert.Equal(t, 3.0, to.P99Ms)
	assert.Equal(t, 800*time.Microsecond, tf.CPUPerRequest)

	r := compare(scenarioWrong, to, tf, o, f)
	assert.InDelta(t, 0.8, r.Throughput, 1e-9)
	assert.InDelta(t, 1.25, r.CPU, 1e-9)
	assert.True(t, r.ThroughputMet, "0.8x meets >= 0.8x")
	assert.True(t, r.CPUMet, "1.25x meets <= 1.25x")
	assert.InDeltaSlice(t, []float64{0.9, 0.7}, r.RoundThroughput, 1e-9)
	assert.InDeltaSlice(t, []float64{1.25, 1.25}, r.RoundCPU, 1e-9)

	// A little slower and dearer: both missed; send's targets are looser.
	o[1] = phase(serveOtpreset, 2, 690, 1, 800*ms)
	to = sum(o)
	r = compare(scenarioWrong, to, tf, o, f)
	assert.False(t, r.ThroughputMet)
	assert.False(t, r.CPUMet)
	r = compare(scenarioSend, to, tf, o, f)
	assert.True(t, r.ThroughputMet)
	assert.True(t, r.CPUMet)

	// Nothing measured is never a target met.
	r = compare(scenarioWrong, total{}, total{}, nil, nil)
	assert.False(t, r.ThroughputMet)
	assert.False(t, r.CPUMet)
}

func TestTrafficSpreadsOverPhonesAndNetworks(t *testing.T) {
	for _, users := range []int{1, 64, 1000, 7919, 10000} {
		tr := newTraffic(users, 64)
		seen := map[int]bool{}
		nets := map[int]bool{}
		last := -1
		for k := range int64(users) {
			p, n := tr.pick(k)
			seen[p], nets[n] = true, true
			if users > 1 {
				assert.NotEqual(t, last, p, "users=%d: the same phone twice in a row", users)
			}
			last = p
		}
		assert.Len(t, seen, users, "users=%d: every phone once per %d requests", users, users)
		assert.Len(t, nets, min(users, 64))
	}
	tr := newTraffic(3, 64)
	assert.Len(t, tr.networks, 64)
	assert.Len(t, map[string]bool{tr.networks[0]: true, tr.networks[63]: true}, 2)
	req, err := tr.request(context.Background(), "http://127.0.0.1:1", scenarioWrong, 1)
	require.NoError(t, err)
	assert.Equal(t, http.MethodPut, req.Method)
	assert.Equal(t, tr.networks[1], req.Header.Get("X-Forwarded-For"))
}

func TestParseFlags(t *testing.T) {
	var out bytes.Buffer
	o, err := parseFlags([]string{"-pg", "postgres://x/y", "-scenarios", "send"}, &out)
	require.NoError(t, err)
	assert.Equal(t, []string{"send"}, o.scenarios)
	assert.Equal(t, 10000, o.users)
	assert.Equal(t, 64, o.networks)
	for _, args := range [][]string{
		{"-pg", "postgres://x/y", "-scenarios", "reset"},
		{"-pg", "postgres://x/y", "-users", "0"},
		{"-pg", "postgres://x/y", "-limits", "some"},
		{"-pg", ""},
	} {
		_, err := parseFlags(args, &out)
		assert.Error(t, err, "%v", args)
	}
}

func TestWithSearchPath(t *testing.T) {
	u, err := withSearchPath("postgres://u@127.0.0.1:5432/db?sslmode=disable", "s1")
	require.NoError(t, err)
	assert.Equal(t, "postgres://u@127.0.0.1:5432/db?search_path=s1&sslmode=disable", u)
	u, err = withSearchPath("host=127.0.0.1 dbname=db", "s1")
	require.NoError(t, err)
	assert.Equal(t, "host=127.0.0.1 dbname=db search_path=s1", u)
	_, err = withSearchPath("mysql://x/y", "s1")
	assert.Error(t, err)
}

// TestRunShort runs the whole tool briefly on PostgreSQL: both servers
// answer every request as expected and the report holds every phase.
func TestRunShort(t *testing.T) {
	pg := servertest.URL(t, servertest.PostgresURLEnv)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	file := filepath.Join(t.TempDir(), "report.json")
	var out bytes.Buffer
	err := run(ctx, []string{"-pg", pg, "-users", "40", "-networks", "8", "-c", "4", "-d", "150ms", "-n", "200", "-rounds", "2", "-json-file", file}, &out)
	require.NoError(t, err, out.String())
	assert.Contains(t, out.String(), "wrong/floor: throughput")
	assert.Contains(t, out.String(), "send/floor: throughput")

	var rep report
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	require.Len(t, rep.Phases, 8, "2 rounds x 2 scenarios x 2 servers")
	for _, p := range rep.Phases {
		assert.Positive(t, p.Requests, "%s %s round %d", p.Scenario, p.Server, p.Round)
		assert.Zero(t, p.Errors, "%s %s round %d: %s", p.Scenario, p.Server, p.Round, p.FirstError)
		assert.LessOrEqual(t, p.Requests, int64(200))
		assert.Positive(t, p.CPU.Machine, "%s %s round %d", p.Scenario, p.Server, p.Round)
	}
	// Rounds alternate which server goes first.
	assert.Equal(t, serveOtpreset, rep.Phases[0].Server)
	assert.Equal(t, serveFloor, rep.Phases[4].Server)
	require.Len(t, rep.Ratios, 2)
	assert.True(t, strings.HasPrefix(rep.Settings.Postgres, "PostgreSQL"), rep.Settings.Postgres)
}
