package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// percentile is the nearest-rank percentile of sorted (0 for none).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// total is one scenario on one server over every round.
type total struct {
	Scenario   string  `json:"scenario"`
	Server     string  `json:"server"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	Seconds    float64 `json:"seconds"`
	Throughput float64 `json:"requests_per_s"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	// CPUPerRequest is the machine's busy time less the load generator's,
	// per answered request; ProcessPerRequest the serving process's alone.
	CPUPerRequest     time.Duration `json:"cpu_per_request_ns"`
	ProcessPerRequest time.Duration `json:"process_cpu_per_request_ns"`
}

// sum merges the rounds of one scenario on one server: throughput is all
// requests over all seconds, CPU all CPU over all requests, and the
// percentiles are over every latency of every round.
func sum(phases []phaseResult) total {
	t := total{Scenario: phases[0].Scenario, Server: phases[0].Server}
	var cpu, proc time.Duration
	var lats []time.Duration
	for _, p := range phases {
		t.Requests += p.Requests
		t.Errors += p.Errors
		t.Seconds += p.Seconds
		cpu += p.CPU.Server
		proc += p.CPU.ServerProcess
		lats = append(lats, p.lats...)
	}
	slices.Sort(lats)
	if t.Seconds > 0 {
		t.Throughput = float64(t.Requests) / t.Seconds
	}
	t.P50Ms, t.P99Ms = ms(percentile(lats, 0.50)), ms(percentile(lats, 0.99))
	t.CPUPerRequest = perRequest(cpu, t.Requests)
	t.ProcessPerRequest = perRequest(proc, t.Requests)
	return t
}

// target is what otpreset must reach against the floor in one scenario:
// at least MinThroughput of the floor's requests per second, and at most
// MaxCPU of its CPU per request.
type target struct {
	MinThroughput float64 `json:"min_throughput_ratio"`
	MaxCPU        float64 `json:"max_cpu_ratio"`
}

// targets are issue 23's, per scenario.
var targets = map[string]target{
	scenarioWrong: {MinThroughput: 0.8, MaxCPU: 1.25},
	scenarioSend:  {MinThroughput: 0.7, MaxCPU: 1.4},
}

// ratio is otpreset against the floor in one scenario.
type ratio struct {
	Scenario string `json:"scenario"`
	// Throughput is otpreset's requests/s over the floor's; CPU otpreset's
	// CPU per request over the floor's. Rounds are the same two ratios of
	// each round alone, to show the spread.
	Throughput       float64   `json:"throughput"`
	CPU              float64   `json:"cpu_per_request"`
	RoundThroughput  []float64 `json:"round_throughput"`
	RoundCPU         []float64 `json:"round_cpu_per_request"`
	Target           target    `json:"target"`
	ThroughputMet    bool      `json:"throughput_met"`
	CPUMet           bool      `json:"cpu_met"`
	ProcessCPU       float64   `json:"process_cpu_per_request"`
	FloorThroughput  float64   `json:"floor_requests_per_s"`
	OtpresetRequests int64     `json:"otpreset_requests"`
}

// div is a/b, or 0 when b is 0.
func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// compare is the ratio of otpreset to the floor in one scenario, from the
// totals and round by round.
func compare(scenario string, o, f total, oRounds, fRounds []phaseResult) ratio {
	r := ratio{
		Scenario:         scenario,
		Throughput:       div(o.Throughput, f.Throughput),
		CPU:              div(float64(o.CPUPerRequest), float64(f.CPUPerRequest)),
		ProcessCPU:       div(float64(o.ProcessPerRequest), float64(f.ProcessPerRequest)),
		Target:           targets[scenario],
		FloorThroughput:  f.Throughput,
		OtpresetRequests: o.Requests,
	}
	for i := range min(len(oRounds), len(fRounds)) {
		a, b := oRounds[i], fRounds[i]
		r.RoundThroughput = append(r.RoundThroughput, div(a.Throughput, b.Throughput))
		r.RoundCPU = append(r.RoundCPU, div(float64(perRequest(a.CPU.Server, a.Requests)), float64(perRequest(b.CPU.Server, b.Requests))))
	}
	r.ThroughputMet = r.Throughput >= r.Target.MinThroughput
	r.CPUMet = r.CPU > 0 && r.CPU <= r.Target.MaxCPU
	return r
}

// report is the whole run, as printed and as JSON.
type report struct {
	Settings settings      `json:"settings"`
	Phases   []phaseResult `json:"phases"`
	Totals   []total       `json:"totals"`
	Ratios   []ratio       `json:"ratios"`
}

// settings describe the run.
type settings struct {
	Users    int           `json:"users"`
	Networks int           `json:"networks"`
	Clients  int           `json:"clients"`
	Rounds   int           `json:"rounds"`
	PerPhase time.Duration `json:"per_phase_ns"`
	MaxPhase int64         `json:"max_requests_per_phase"`
	Limits   string        `json:"limits"`
	Postgres string        `json:"postgres"`
	// Background is how many CPUs were busy before the run, without its
	// load: other work on the machine, which CPU per request also holds.
	Background float64   `json:"background_busy_cpus"`
	CPUs       int       `json:"cpus"`
	Go         string    `json:"go"`
	StartedAt  time.Time `json:"started_at"`
}

func msOf(d time.Duration) string { return fmt.Sprintf("%.3f", ms(d)) }

func mark(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func joinRatios(rs []float64) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = fmt.Sprintf("%.2f", r)
	}
	return strings.Join(s, " ")
}

// print writes the report as tables: every phase in the order it ran, the
// totals, and the ratios against the targets.
func (rep report) print(w io.Writer) {
	s := rep.Settings
	fmt.Fprintf(w, "floorbench: %d users, %d client networks, %d clients, %d rounds of at most %v or %d requests per phase, limits %s\n",
		s.Users, s.Networks, s.Clients, s.Rounds, s.PerPhase, s.MaxPhase, s.Limits)
	fmt.Fprintf(w, "%s; %d CPUs; %s\n", s.Postgres, s.CPUs, s.Go)
	fmt.Fprintf(w, "before the run, without its load, %.2f of %d CPUs were busy (other work: CPU per request holds it too; read it on an idle machine)\n\n", s.Background, s.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tscenario\tserver\trequests\terrors\treq/s\tp50 ms\tp99 ms\tmachine CPU s\tgenerator CPU s\tserver CPU ms/req\tserver process ms/req\tstatuses\t")
	for _, p := range rep.Phases {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%v\t\n",
			p.Round, p.Scenario, p.Server, p.Requests, p.Errors, p.Throughput, p.P50Ms, p.P99Ms,
			p.CPU.Machine.Seconds(), p.CPU.Generator.Seconds(),
			msOf(perRequest(p.CPU.Server, p.Requests)), msOf(perRequest(p.CPU.ServerProcess, p.Requests)), p.Statuses)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "all rounds\tscenario\tserver\trequests\terrors\treq/s\tp50 ms\tp99 ms\tserver CPU ms/req\tserver process ms/req\t")
	for _, t := range rep.Totals {
		fmt.Fprintf(tw, "\t%s\t%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t%s\t%s\t\n",
			t.Scenario, t.Server, t.Requests, t.Errors, t.Throughput, t.P50Ms, t.P99Ms, msOf(t.CPUPerRequest), msOf(t.ProcessPerRequest))
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range rep.Ratios {
		fmt.Fprintf(w, "%s/floor: throughput %.2fx (target >= %.2fx: %s; rounds %s), server CPU per request %.2fx (target <= %.2fx: %s; rounds %s), server process alone %.2fx\n",
			r.Scenario, r.Throughput, r.Target.MinThroughput, mark(r.ThroughputMet), joinRatios(r.RoundThroughput),
			r.CPU, r.Target.MaxCPU, mark(r.CPUMet), joinRatios(r.RoundCPU), r.ProcessCPU)
	}
}
