package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// op is one client's work: prepare runs untimed before each timed do (a
// reset first asks for a fresh code).
type op struct {
	prepare func(ctx context.Context) error
	do      func(ctx context.Context) error
}

// workload is one measurement: clients goroutines, each running its own op
// in a loop.
type workload struct {
	name    string
	kind    string // kindOtpreset, kindBare or kindArgon2id
	clients int
	// newOp builds client i's op before the clock starts.
	newOp func(i int) (op, error)
}

const (
	kindOtpreset = "otpreset"
	kindBare     = "bare"
	kindArgon2id = "argon2id"
)

// result is one measurement, as printed.
type result struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Clients int    `json:"clients"`
	// Requests is the number of operations that succeeded; Errors the
	// others (transport errors, unexpected statuses).
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	Seconds    float64 `json:"seconds"`
	Throughput float64 `json:"throughput_per_s"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
	// AllocsPerOp is the whole process's heap allocations per operation,
	// client side included (subtract the bare handler's to see the
	// handler's own).
	AllocsPerOp float64 `json:"allocs_per_op"`
	// PeakRSSKiB is the process's VmHWM after the run; RSSGrowthKiB how much
	// it grew during the run (0 when an earlier run reached higher). When
	// HWMReset, the peak was reset to the current RSS before the run, so
	// PeakRSSKiB is this run's own peak.
	PeakRSSKiB   int64 `json:"peak_rss_kib"`
	RSSGrowthKiB int64 `json:"rss_growth_kib"`
	HWMReset     bool  `json:"hwm_reset"`
	// BaseRSSKiB and GOMAXPROCS are the child process's, for the memory
	// scenario's runs.
	BaseRSSKiB int64  `json:"base_rss_kib,omitempty"`
	GOMAXPROCS int    `json:"gomaxprocs,omitempty"`
	Truncated  bool   `json:"truncated,omitempty"`
	FirstError string `json:"first_error,omitempty"`
	// Rounds are the separate measurements merged into this result, in
	// the order they ran (interleaved with the scenario's other runs).
	Rounds []round `json:"rounds,omitempty"`
}

// round is one measurement of a run.
type round struct {
	Throughput float64 `json:"throughput_per_s"`
	P50Ms      float64 `json:"p50_ms"`
}

// limits bound a measurement: n operations (when > 0) or duration d.
type limits struct {
	n int64
	d time.Duration
}

// measureRounds measures each workload rounds times, interleaved (a b c a b
// c ...), so that a burst of load from elsewhere on the machine falls on
// both sides of a ratio alike, and merges each workload's rounds.
func measureRounds(ctx context.Context, ws []workload, l limits, rounds int) ([]result, error) {
	type acc struct {
		results []result
		lats    []time.Duration
	}
	accs := make([]acc, len(ws))
	for range rounds {
		for i, w := range ws {
			r, lats, err := measure(ctx, w, l)
			if err != nil {
				return nil, err
			}
			accs[i].results = append(accs[i].results, r)
			accs[i].lats = append(accs[i].lats, lats...)
			if ctx.Err() != nil {
				break
			}
		}
	}
	out := make([]result, 0, len(ws))
	for _, a := range accs {
		if len(a.results) > 0 {
			out = append(out, merge(a.results, a.lats))
		}
	}
	return out, nil
}

// merge sums rounds of one workload; lats are all their latencies.
func merge(rs []result, lats []time.Duration) result {
	m := rs[0]
	m.Requests, m.Errors, m.Seconds, m.PeakRSSKiB, m.RSSGrowthKiB = 0, 0, 0, 0, 0
	var allocs float64
	for _, r := range rs {
		m.Requests += r.Requests
		m.Errors += r.Errors
		m.Seconds += r.Seconds
		m.PeakRSSKiB = max(m.PeakRSSKiB, r.PeakRSSKiB)
		m.RSSGrowthKiB = max(m.RSSGrowthKiB, r.RSSGrowthKiB)
		m.Truncated = m.Truncated || r.Truncated
		if m.FirstError == "" {
			m.FirstError = r.FirstError
		}
		allocs += r.AllocsPerOp * float64(r.Requests+r.Errors)
		m.Rounds = append(m.Rounds, round{Throughput: r.Throughput, P50Ms: r.P50Ms})
	}
	if m.Seconds > 0 {
		m.Throughput = float64(m.Requests) / m.Seconds
	}
	if n := m.Requests + m.Errors; n > 0 {
		m.AllocsPerOp = allocs / float64(n)
	}
	slices.Sort(lats)
	m.P50Ms, m.P99Ms, m.MaxMs = ms(percentile(lats, 0.50)), ms(percentile(lats, 0.99)), 0
	if len(lats) > 0 {
		m.MaxMs = ms(lats[len(lats)-1])
	}
	return m
}

// measure runs w once and returns its result and its sorted latencies. It
// stops after l (or when ctx ends, marking the result Truncated).
func measure(ctx context.Context, w workload, l limits) (result, []time.Duration, error) {
	ops := make([]op, w.clients)
	for i := range ops {
		o, err := w.newOp(i)
		if err != nil {
			return result{}, nil, fmt.Errorf("%s: client %d: %w", w.name, i, err)
		}
		ops[i] = o
	}
	res := result{Name: w.name, Kind: w.kind, Clients: w.clients}
	runtime.GC()
	res.HWMReset = resetPeakRSS()
	hwmBefore, _ := readProcStatus()
	var msBefore, msAfter runtime.MemStats
	runtime.ReadMemStats(&msBefore)

	var (
		claimed   atomic.Int64
		okCount   atomic.Int64
		errCount  atomic.Int64
		firstErr  error
		errOnce   sync.Once
		latencies = make([][]time.Duration, w.clients)
		wg        sync.WaitGroup
		start     = make(chan struct{})
	)
	deadline := time.Now().Add(l.d) // reset below when the clients start
	next := func() bool {
		if ctx.Err() != nil {
			return false
		}
		if l.n > 0 {
			return claimed.Add(1) <= l.n
		}
		return time.Now().Before(deadline)
	}
	for i := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := ops[i]
			lat := make([]time.Duration, 0, 1024)
			<-start
			for next() {
				if o.prepare != nil {
					if err := o.prepare(ctx); err != nil {
						if ctx.Err() == nil {
							errCount.Add(1)
							errOnce.Do(func() { firstErr = fmt.Errorf("prepare: %w", err) })
						}
						continue
					}
				}
				t0 := time.Now()
				err := o.do(ctx)
				took := time.Since(t0)
				if err != nil {
					if ctx.Err() == nil {
						errCount.Add(1)
						errOnce.Do(func() { firstErr = err })
					}
					continue
				}
				okCount.Add(1)
				lat = append(lat, took)
			}
			latencies[i] = lat
		}()
	}
	t0 := time.Now()
	deadline = t0.Add(l.d)
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)

	runtime.ReadMemStats(&msAfter)
	hwmAfter, _ := readProcStatus()
	all := slices.Concat(latencies...)
	slices.Sort(all)
	res.Requests, res.Errors = okCount.Load(), errCount.Load()
	res.Seconds = elapsed.Seconds()
	if res.Seconds > 0 {
		res.Throughput = float64(res.Requests) / res.Seconds
	}
	res.P50Ms, res.P99Ms = ms(percentile(all, 0.50)), ms(percentile(all, 0.99))
	if len(all) > 0 {
		res.MaxMs = ms(all[len(all)-1])
	}
	if n := res.Requests + res.Errors; n > 0 {
		res.AllocsPerOp = float64(msAfter.Mallocs-msBefore.Mallocs) / float64(n)
	}
	res.PeakRSSKiB = hwmAfter
	res.RSSGrowthKiB = max(0, hwmAfter-hwmBefore)
	res.Truncated = ctx.Err() != nil
	if firstErr != nil {
		res.FirstError = firstErr.Error()
	}
	return res, all, nil
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// server is an http.Server on a loopback port the system picks.
type server struct {
	srv *http.Server
	url string
}

// startServer serves h on 127.0.0.1:0; loopback only, never another address.
func startServer(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	s := &server{
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		url: "http://" + ln.Addr().String(),
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err) // cannot happen on a fresh listener
		}
	}()
	return s, nil
}

func (s *server) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// newHTTPClient keeps one connection per client alive between requests.
func newHTTPClient(clients int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        clients,
		MaxIdleConnsPerHost: clients,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}}
}
