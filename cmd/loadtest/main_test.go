package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain lets the memory scenario re-execute the test binary as its child.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(childMain(mode, os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// TestRunJSON runs every scenario briefly (cheap argon2id parameters) and
// checks the JSON report: each scenario's runs served requests, without
// errors, and every target was judged.
func TestRunJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, []string{
		"-json", "-d", "150ms", "-rounds", "2", "-c", "4", "-inflight", "12",
		"-argon2-memory", "1024", "-argon2-iterations", "1", "-gomemlimit", "64MiB", "-timeout", "90s",
	}, &out)
	require.NoError(t, err)

	var rep report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), "output: %s", out.String())
	assert.Positive(t, rep.Machine.GOMAXPROCS)
	assert.NotEmpty(t, rep.Machine.Go)
	assert.Equal(t, uint32(1024), rep.Settings.Argon2id.Memory)

	wantRuns := map[string][]string{ // scenario -> "name/kind" of its runs
		"reject":  {"bad key/otpreset", "bad key/bare", "malformed body/otpreset", "malformed body/bare", "wrong code/otpreset", "wrong code/bare"},
		"reset1":  {"reset/otpreset", "CreateHash/argon2id"},
		"reset64": {"reset/otpreset", "hash time/argon2id", "CreateHash/argon2id"},
		"memory":  {"in flight/otpreset", "in flight/bare", "in flight/argon2id", "in flight, GOMEMLIMIT=64MiB/otpreset"},
	}
	require.Len(t, rep.Scenarios, len(wantRuns))
	for _, sc := range rep.Scenarios {
		want, ok := wantRuns[sc.Name]
		require.True(t, ok, "unexpected scenario %q", sc.Name)
		var got []string
		for _, r := range sc.Runs {
			got = append(got, r.Name+"/"+r.Kind)
			assert.Positive(t, r.Throughput, "%s %s/%s throughput", sc.Name, r.Name, r.Kind)
			assert.Positive(t, r.Requests, "%s %s/%s requests", sc.Name, r.Name, r.Kind)
			assert.Zero(t, r.Errors, "%s %s/%s: %s", sc.Name, r.Name, r.Kind, r.FirstError)
			assert.LessOrEqual(t, r.P50Ms, r.P99Ms, "%s %s/%s percentiles", sc.Name, r.Name, r.Kind)
			assert.LessOrEqual(t, r.P99Ms, r.MaxMs, "%s %s/%s percentiles", sc.Name, r.Name, r.Kind)
			if sc.Name == "memory" {
				assert.Positive(t, r.PeakRSSKiB, "child peak RSS")
				assert.Equal(t, 12, r.Clients)
			} else {
				assert.Len(t, r.Rounds, 2, "%s %s/%s rounds", sc.Name, r.Name, r.Kind)
			}
		}
		assert.Equal(t, want, got, sc.Name)
	}

	require.Len(t, rep.Targets, 3+1+2+2)
	for _, c := range rep.Targets {
		assert.False(t, math.IsNaN(c.Measured) || math.IsInf(c.Measured, 0), c.Name)
		assert.Positive(t, c.Measured, c.Name)
		assert.NotEmpty(t, c.Detail, c.Name)
	}
}

func TestRunTable(t *testing.T) {
	var out bytes.Buffer
	file := filepath.Join(t.TempDir(), "report.json")
	err := run(context.Background(), []string{"-scenario", "reject", "-n", "40", "-rounds", "1", "-c", "2", "-json-file", file}, &out)
	require.NoError(t, err)
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var rep report
	require.NoError(t, json.Unmarshal(data, &rep), "-json-file holds the report")
	require.Len(t, rep.Scenarios, 1)
	assert.Len(t, rep.Scenarios[0].Runs, 6)
	s := out.String()
	assert.Contains(t, s, "scenario")
	assert.Contains(t, s, "malformed body")
	assert.Contains(t, s, "targets:")
	assert.Contains(t, s, "reject wrong code at 2 clients: throughput otpreset/bare")
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
		check   func(t *testing.T, o *options)
	}{
		{args: nil, check: func(t *testing.T, o *options) {
			assert.Equal(t, 64, o.concurrency)
			assert.Equal(t, 3*time.Second, o.limits.d)
			assert.Equal(t, 500, o.inflight)
			assert.Len(t, o.scenarios, len(scenarios))
			assert.Equal(t, uint32(19*1024), o.params.Memory)
			assert.Equal(t, fmt.Sprintf("%dMiB", runtime.GOMAXPROCS(0)*19+64-20), o.gomemlimit, "auto")
		}},
		{args: []string{"-gomemlimit", ""}, check: func(t *testing.T, o *options) { assert.Empty(t, o.gomemlimit) }},
		{args: []string{"-scenario", "reset1, memory", "-n", "10"}, check: func(t *testing.T, o *options) {
			require.Len(t, o.scenarios, 2)
			assert.Equal(t, "reset1", o.scenarios[0].name)
			assert.Equal(t, "memory", o.scenarios[1].name)
			assert.Equal(t, int64(10), o.limits.n)
		}},
		{args: []string{"-scenario", "nope"}, wantErr: `unknown scenario "nope"`},
		{args: []string{"-c", "0"}, wantErr: "-c must be at least 1"},
		{args: []string{"-d", "0"}, wantErr: "-d or -n must be positive"},
		{args: []string{"-rounds", "0"}, wantErr: "-rounds must be at least 1"},
		{args: []string{"-inflight", "0"}, wantErr: "-inflight must be at least 1"},
		{args: []string{"-argon2-memory", "4"}, wantErr: "-argon2-memory"},
		{args: []string{"extra"}, wantErr: "unexpected arguments"},
		{args: []string{"-bogus"}, wantErr: "flag provided but not defined"},
	}
	for _, tc := range tests {
		o, err := parseFlags(tc.args, &bytes.Buffer{})
		if tc.wantErr != "" {
			require.Error(t, err, "%q", tc.args)
			assert.Contains(t, err.Error(), tc.wantErr)
			continue
		}
		require.NoError(t, err, "%q", tc.args)
		tc.check(t, o)
	}
}

func TestParseProcStatus(t *testing.T) {
	status := []byte("Name:\tloadtest\nVmPeak:\t  900000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t   65432 kB\nThreads:\t7\n")
	hwm, rss := parseProcStatus(status)
	assert.Equal(t, int64(123456), hwm)
	assert.Equal(t, int64(65432), rss)

	hwm, rss = parseProcStatus([]byte("VmHWM: lots\n"))
	assert.Zero(t, hwm)
	assert.Zero(t, rss)
}

func TestPercentileAndMerge(t *testing.T) {
	lats := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for i := range lats {
		lats[i] *= time.Millisecond
	}
	assert.Equal(t, 5*time.Millisecond, percentile(lats, 0.50))
	assert.Equal(t, 10*time.Millisecond, percentile(lats, 0.99))
	assert.Zero(t, percentile(nil, 0.5))

	m := merge([]result{
		{Name: "x", Requests: 4, Seconds: 1, Throughput: 4, P50Ms: 2, AllocsPerOp: 10, PeakRSSKiB: 100},
		{Name: "x", Requests: 6, Errors: 2, Seconds: 1, Throughput: 6, P50Ms: 8, AllocsPerOp: 20, PeakRSSKiB: 300},
	}, []time.Duration{10 * time.Millisecond, time.Millisecond, 5 * time.Millisecond})
	assert.Equal(t, int64(10), m.Requests)
	assert.Equal(t, int64(2), m.Errors)
	assert.InDelta(t, 5.0, m.Throughput, 1e-9)
	assert.InDelta(t, (4*10+8*20)/12.0, m.AllocsPerOp, 1e-9)
	assert.Equal(t, int64(300), m.PeakRSSKiB)
	assert.InDelta(t, 5.0, m.P50Ms, 1e-9)
	assert.InDelta(t, 10.0, m.MaxMs, 1e-9)
	assert.Equal(t, []round{{4, 2}, {6, 8}}, m.Rounds)
}

func TestPerRoundMedian(t *testing.T) {
	a := result{Rounds: []round{{Throughput: 10}, {Throughput: 30}, {Throughput: 20}}}
	b := result{Rounds: []round{{Throughput: 10}, {Throughput: 10}, {Throughput: 0}}}
	vs, med, ok := perRound(a, b, func(a, b round) (float64, bool) { return a.Throughput / b.Throughput, b.Throughput > 0 })
	require.True(t, ok)
	assert.Equal(t, []float64{1, 3}, vs, "a round with a zero baseline is left out")
	assert.InDelta(t, 2.0, med, 1e-9)
}
