package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otpreset/go/otpreset"
)

// The two requests measured, each against otpreset and against the floor.
const (
	scenarioWrong = "wrong" // PUT with a wrong code
	scenarioSend  = "send"  // POST asking for a code
)

// traffic is what the load generator sends: one body per phone and
// scenario, and one X-Forwarded-For per client network, built before the
// clock starts.
type traffic struct {
	phones   []string
	wrong    [][]byte // reset bodies with a wrong code
	send     [][]byte // send bodies
	networks []string // X-Forwarded-For values, one address per network
	stride   int      // request k goes to phone (k*stride) mod len(phones)
}

// phoneFor is user i's phone: Indian mobile numbers from +91 99990 00000.
func phoneFor(i int) string { return fmt.Sprintf("+9199990%05d", i) }

func newTraffic(users, networks int) *traffic {
	t := &traffic{stride: strideFor(users)}
	for i := range users {
		p := phoneFor(i)
		t.phones = append(t.phones, p)
		t.wrong = append(t.wrong, fmt.Appendf(nil, `{"phone":%q,"otp":"000000","Password":%q}`, p, newPass))
		t.send = append(t.send, fmt.Appendf(nil, `{"phone":%q}`, p))
	}
	for j := range networks {
		// 198.18.0.0/15 is set aside for benchmarks (RFC 2544); an IPv4
		// client is its own network for the per-IP limits.
		t.networks = append(t.networks, fmt.Sprintf("198.18.%d.%d", j/250, j%250+1))
	}
	return t
}

// strideFor is a step coprime with n, so that k*stride mod n visits every
// phone once per n requests, and consecutive requests fall on phones far
// apart (never the same row twice in a row).
func strideFor(n int) int {
	for _, p := range []int{7919, 7907, 7901, 104729} {
		if gcd(p, n) == 1 {
			return p % max(n, 1)
		}
	}
	return 1
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// pick is request k's phone index and network index: phones in stride
// order, networks round robin.
func (t *traffic) pick(k int64) (phone, network int) {
	n := int64(len(t.phones))
	return int((k % n) * int64(t.stride) % n), int(k % int64(len(t.networks)))
}

// request builds request k of scenario against the server at base.
func (t *traffic) request(ctx context.Context, base, scenario string, k int64) (*http.Request, error) {
	p, n := t.pick(k)
	method, body := http.MethodPost, t.send[p]
	if scenario == scenarioWrong {
		method, body = http.MethodPut, t.wrong[p]
	}
	req, err := http.NewRequestWithContext(ctx, method, base+otpreset.Path+"?apikey="+apiKey, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", t.networks[n])
	return req, nil
}

// bound is when a phase stops: after n requests or d, whichever comes first.
type bound struct {
	n int64
	d time.Duration
}

// phaseResult is one phase: one scenario against one server for one round.
type phaseResult struct {
	Scenario   string  `json:"scenario"`
	Server     string  `json:"server"`
	Round      int     `json:"round"`
	Requests   int64   `json:"requests"` // answered with an expected status
	Errors     int64   `json:"errors"`
	Seconds    float64 `json:"seconds"`
	Throughput float64 `json:"requests_per_s"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	CPU        cpuUse  `json:"cpu_ns"`
	// Statuses counts the answers by HTTP status.
	Statuses   map[int]int64 `json:"statuses"`
	FirstError string        `json:"first_error,omitempty"`

	lats []time.Duration // sorted
}

// load drives one phase: clients goroutines send requests of scenario to
// base until the bound, each answer checked against ok. pid is the serving
// process, whose CPU is sampled at both ends.
func load(ctx context.Context, client *http.Client, tr *traffic, base, scenario string, ok map[int]bool, clients int, b bound, pid int) (phaseResult, error) {
	res := phaseResult{Scenario: scenario, Statuses: map[int]int64{}}
	var (
		next     atomic.Int64
		errs     atomic.Int64
		mu       sync.Mutex
		firstErr string
		lats     = make([][]time.Duration, clients)
		statuses = make([]map[int]int64, clients)
		wg       sync.WaitGroup
	)
	before, err := sampleCPU(pid)
	if err != nil {
		return res, err
	}
	start := time.Now()
	deadline := start.Add(b.d)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			st := map[int]int64{}
			for ctx.Err() == nil && time.Now().Before(deadline) {
				k := next.Add(1) - 1
				if b.n > 0 && k >= b.n {
					break
				}
				status, took, err := do(ctx, client, tr, base, scenario, k)
				if err == nil && !ok[status] {
					err = fmt.Errorf("status %d", status)
				}
				if status != 0 {
					st[status]++
				}
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						mu.Lock()
						if firstErr == "" {
							firstErr = err.Error()
						}
						mu.Unlock()
					}
					continue
				}
				lat = append(lat, took)
			}
			lats[i], statuses[i] = lat, st
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	after, err := sampleCPU(pid)
	if err != nil {
		return res, err
	}
	res.lats = slices.Concat(lats...)
	slices.Sort(res.lats)
	for _, st := range statuses {
		for s, n := range st {
			res.Statuses[s] += n
		}
	}
	res.Requests, res.Errors = int64(len(res.lats)), errs.Load()
	res.Seconds = elapsed.Seconds()
	res.Throughput = float64(res.Requests) / res.Seconds
	res.P50Ms, res.P99Ms = ms(percentile(res.lats, 0.50)), ms(percentile(res.lats, 0.99))
	res.CPU = cpuBetween(before, after)
	res.FirstError = firstErr
	return res, nil
}

// do sends request k and reads the whole answer; took is the time from
// sending to the answer's last byte.
func do(ctx context.Context, client *http.Client, tr *traffic, base, scenario string, k int64) (status int, took time.Duration, err error) {
	req, err := tr.request(ctx, base, scenario, k)
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(t0), err
}

// newClient keeps one connection per load client alive between requests.
func newClient(clients int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        clients,
			MaxIdleConnsPerHost: clients,
			MaxConnsPerHost:     clients,
			DisableCompression:  true,
		},
	}
}
