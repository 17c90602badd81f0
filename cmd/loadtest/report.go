package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/alexedwards/argon2id"
)

// report is the whole output, as JSON with -json.
type report struct {
	Machine   machine          `json:"machine"`
	Settings  settings         `json:"settings"`
	Scenarios []scenarioReport `json:"scenarios"`
	Targets   []check          `json:"targets"`
}

type machine struct {
	CPU        string `json:"cpu"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
}

type settings struct {
	Clients   int              `json:"clients"`
	Duration  string           `json:"duration"`
	Requests  int64            `json:"requests,omitempty"`
	Inflight  int              `json:"inflight"`
	Argon2id  *argon2id.Params `json:"argon2id"`
	HashSlots int              `json:"hash_concurrency"`
}

type scenarioReport struct {
	Name  string   `json:"name"`
	About string   `json:"about"`
	Runs  []result `json:"runs"`
}

// check is one target: Measured Cmp Limit.
type check struct {
	Name     string  `json:"name"`
	Measured float64 `json:"measured"`
	Cmp      string  `json:"cmp"`
	Limit    float64 `json:"limit"`
	Met      bool    `json:"met"`
	Detail   string  `json:"detail"`
}

func newReport(o *options) *report {
	return &report{
		Machine: machine{
			CPU: cpuModel(), NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
			Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		},
		Settings: settings{
			Clients: o.concurrency, Duration: o.limits.d.String(), Requests: o.limits.n,
			Inflight: o.inflight, Argon2id: o.params, HashSlots: runtime.GOMAXPROCS(0),
		},
	}
}

// cpuModel is the first "model name" of /proc/cpuinfo, or GOARCH.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// find returns the run of scenario named name and kind.
func (r *report) find(scenario, name, kind string) (result, bool) {
	for _, s := range r.Scenarios {
		if s.Name != scenario {
			continue
		}
		for _, run := range s.Runs {
			if run.Name == name && run.Kind == kind {
				return run, true
			}
		}
	}
	return result{}, false
}

func newCheck(name string, measured float64, cmp string, limit float64, detail string) check {
	met := measured >= limit
	if cmp == "<=" {
		met = measured <= limit
	}
	return check{Name: name, Measured: measured, Cmp: cmp, Limit: limit, Met: met, Detail: detail}
}

// perRound pairs the rounds of a and b (the same index ran back to back)
// and returns f of each pair, and their median.
func perRound(a, b result, f func(a, b round) (float64, bool)) ([]float64, float64, bool) {
	var vs []float64
	for i := range min(len(a.Rounds), len(b.Rounds)) {
		if v, ok := f(a.Rounds[i], b.Rounds[i]); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return nil, 0, false
	}
	sorted := slices.Sorted(slices.Values(vs))
	med := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		med = (sorted[len(sorted)/2-1] + med) / 2
	}
	return vs, med, true
}

func fmtRatios(vs []float64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%.2f", v)
	}
	return strings.Join(parts, " ")
}

// checkTargets judges the targets from the runs that were made.
// Ratios are the median over rounds of the ratio within each round.
func checkTargets(r *report, o *options) []check {
	var out []check
	for _, path := range []string{"bad key", "malformed body", "wrong code"} {
		h, ok1 := r.find("reject", path, kindOtpreset)
		b, ok2 := r.find("reject", path, kindBare)
		if !ok1 || !ok2 {
			continue
		}
		vs, med, ok := perRound(h, b, func(h, b round) (float64, bool) { return h.Throughput / b.Throughput, b.Throughput > 0 })
		if !ok {
			continue
		}
		out = append(out, newCheck(
			fmt.Sprintf("reject %s at %d clients: throughput otpreset/bare", path, h.Clients), med, ">=", 0.5,
			fmt.Sprintf("rounds %s; overall %.0f vs %.0f req/s; p99 %s vs %s ms; process allocs/request %.0f vs %.0f (client included)",
				fmtRatios(vs), h.Throughput, b.Throughput, fmtMs(h.P99Ms), fmtMs(b.P99Ms), h.AllocsPerOp, b.AllocsPerOp)))
	}
	if h, ok := r.find("reset1", "reset", kindOtpreset); ok {
		if a, ok := r.find("reset1", "CreateHash", kindArgon2id); ok {
			if vs, med, ok := perRound(h, a, func(h, a round) (float64, bool) { return h.P50Ms / a.P50Ms, a.P50Ms > 0 && h.P50Ms > 0 }); ok {
				out = append(out, newCheck("reset at 1 client: median otpreset/CreateHash", med, "<=", 1.15,
					fmt.Sprintf("rounds %s; overall p50 %s ms vs %s ms", fmtRatios(vs), fmtMs(h.P50Ms), fmtMs(a.P50Ms))))
			}
		}
	}
	if h, ok := r.find("reset64", "reset", kindOtpreset); ok {
		if ht, ok := r.find("reset64", "hash time", kindArgon2id); ok {
			cores := float64(r.Machine.GOMAXPROCS)
			vs, med, ok := perRound(h, ht, func(h, ht round) (float64, bool) {
				return h.Throughput / (cores / (ht.P50Ms / 1000)), ht.P50Ms > 0
			})
			if ok {
				detail := fmt.Sprintf("rounds %s; overall %.2f resets/s vs %.0f cores / %s ms = %.2f/s",
					fmtRatios(vs), h.Throughput, cores, fmtMs(ht.P50Ms), cores/(ht.P50Ms/1000))
				if a, ok := r.find("reset64", "CreateHash", kindArgon2id); ok {
					detail += fmt.Sprintf("; CreateHash alone from %d goroutines: %.2f/s", a.Clients, a.Throughput)
				}
				out = append(out, newCheck(fmt.Sprintf("reset at %d clients: throughput / (cores / hash time)", h.Clients),
					med, ">=", 0.9, detail))
			}
		}
		// The ceiling the machine really offers: CreateHash alone from as
		// many goroutines as the hasher allows (a shared or memory-bound
		// machine does not give cores / hash time even to argon2id alone).
		if a, ok := r.find("reset64", "CreateHash", kindArgon2id); ok {
			if vs, med, ok := perRound(h, a, func(h, a round) (float64, bool) { return h.Throughput / a.Throughput, a.Throughput > 0 }); ok {
				out = append(out, newCheck(fmt.Sprintf("reset at %d clients: throughput / CreateHash alone from %d goroutines", h.Clients, a.Clients),
					med, ">=", 0.9, fmt.Sprintf("rounds %s; overall %.2f vs %.2f/s", fmtRatios(vs), h.Throughput, a.Throughput)))
			}
		}
	}
	names := []string{memoryRunName("")}
	if o.gomemlimit != "" {
		names = append(names, memoryRunName(o.gomemlimit))
	}
	for _, name := range names {
		h, ok := r.find("memory", name, kindOtpreset)
		if !ok || h.PeakRSSKiB == 0 {
			continue
		}
		procs := h.GOMAXPROCS
		if procs == 0 {
			procs = r.Machine.GOMAXPROCS
		}
		limit := float64(procs)*float64(o.params.Memory)/1024 + 64 // rssBudgetMiB, unrounded
		detail := fmt.Sprintf("%d resets in flight: peak %.1f MiB (idle %.1f MiB); limit %d x %.1f MiB + 64 MiB",
			h.Clients, mib(h.PeakRSSKiB), mib(h.BaseRSSKiB), procs, float64(o.params.Memory)/1024)
		if b, ok := r.find("memory", memoryRunName(""), kindBare); ok {
			detail += fmt.Sprintf("; bare handler %.1f MiB", mib(b.PeakRSSKiB))
		}
		if a, ok := r.find("memory", memoryRunName(""), kindArgon2id); ok {
			detail += fmt.Sprintf("; CreateHash alone (same concurrency bound, default GC) %.1f MiB", mib(a.PeakRSSKiB))
		}
		gc := "default GC"
		if name != memoryRunName("") {
			gc = "GOMEMLIMIT=" + o.gomemlimit
		}
		out = append(out, newCheck("peak RSS with resets in flight, "+gc+" (MiB)", mib(h.PeakRSSKiB), "<=", limit, detail))
	}
	return out
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func fmtMs(v float64) string {
	switch {
	case v < 1:
		return fmt.Sprintf("%.3f", v)
	case v < 100:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

func writeJSON(w io.Writer, r *report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func writeTable(w io.Writer, r *report) error {
	m, s := r.Machine, r.Settings
	fmt.Fprintf(w, "otpreset load test: %s, %d CPUs, GOMAXPROCS %d, %s %s/%s\n", m.CPU, m.NumCPU, m.GOMAXPROCS, m.Go, m.OS, m.Arch)
	per := s.Duration
	if s.Requests > 0 {
		per = fmt.Sprintf("%d operations", s.Requests)
	}
	fmt.Fprintf(w, "argon2id m=%d KiB t=%d p=%d, hash concurrency %d; %s per measurement; loopback HTTP, in-memory store, rate limits off\n\n",
		s.Argon2id.Memory, s.Argon2id.Iterations, s.Argon2id.Parallelism, s.HashSlots, per)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trun\tkind\tclients\tok\terrors\tops/s\tp50 ms\tp99 ms\tmax ms\tallocs/op\tpeak RSS MiB\tRSS growth MiB\t")
	for _, sc := range r.Scenarios {
		for _, run := range sc.Runs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%.1f\t%s\t%s\t%s\t%.0f\t%.1f\t%.1f\t\n",
				sc.Name, run.Name, run.Kind, run.Clients, run.Requests, run.Errors, run.Throughput,
				fmtMs(run.P50Ms), fmtMs(run.P99Ms), fmtMs(run.MaxMs), run.AllocsPerOp, mib(run.PeakRSSKiB), mib(run.RSSGrowthKiB))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, sc := range r.Scenarios {
		for _, run := range sc.Runs {
			if run.FirstError != "" {
				fmt.Fprintf(w, "\n%s / %s / %s: first error: %s", sc.Name, run.Name, run.Kind, run.FirstError)
			}
		}
	}
	fmt.Fprintln(w, "\ntargets:")
	for _, c := range r.Targets {
		verdict := "met"
		if !c.Met {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "  %-60s %8.3f %s %-8.3g %s\n      %s\n", c.Name, c.Measured, c.Cmp, c.Limit, verdict, c.Detail)
	}
	return nil
}
