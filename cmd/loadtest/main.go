// Command loadtest drives the otpreset handler over loopback HTTP with many
// concurrent clients and prints throughput, latency percentiles and peak
// memory, side by side with two baselines measured the same way in the same
// process: a bare net/http handler that decodes the same JSON body and
// answers the same bytes, and argon2id.CreateHash alone with the same
// parameters. Ratios between the two are what to read: absolute numbers
// depend on the machine and on whatever else it is doing.
//
//	go run ./cmd/loadtest                        # every scenario, as a table
//	go run ./cmd/loadtest -json -d 2s            # as JSON, 2 s per measurement
//	go run ./cmd/loadtest -scenario reject -c 128 -n 200000
//	go run ./cmd/loadtest -d 5s -rounds 5 -json-file report.json  # table, and JSON to a file
//
// Scenarios (-scenario, comma separated; default all):
//
//	reject   bad API key, malformed body and wrong code at -c clients (64),
//	         each against a bare handler answering the same bytes
//	reset1   successful resets at 1 client: median vs one CreateHash
//	reset64  successful resets at -c clients: throughput vs cores / hash time
//	memory   -inflight (500) resets in flight at once, in a child process
//	         (peak RSS cannot be reset in-process everywhere): its VmHWM vs
//	         hash concurrency x argon2id memory + 64 MiB
//
// The handler uses the in-memory store, every rate limit off, lockouts out
// of reach, a discarding logger and argon2id with otpreset's defaults
// (m=19 MiB, t=2, p=1; see -argon2-memory). The server listens on a port of
// 127.0.0.1 the system picks, never another address, and everything stops
// by itself: each measurement after -d (or -n operations), the whole run
// after -timeout. Each measurement is repeated -rounds times, interleaved
// with the scenario's other measurements, and every ratio is the median of
// the ratios within a round, so that load from elsewhere on the machine
// falls on both sides alike.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/otpreset/go/otpreset/password"
)

func main() {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(childMain(mode, os.Stdin, os.Stdout))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// options are the parsed flags.
type options struct {
	concurrency int
	limits      limits
	rounds      int
	scenarios   []scenario
	json        bool
	jsonFile    string
	inflight    int
	timeout     time.Duration
	params      *argon2id.Params
	gomemlimit  string
	cpuprofile  string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	var names string
	var memory, iterations uint
	fs.IntVar(&o.concurrency, "c", 64, "concurrent clients for the reject and reset64 scenarios")
	fs.DurationVar(&o.limits.d, "d", 3*time.Second, "duration of each measurement")
	fs.Int64Var(&o.limits.n, "n", 0, "operations per measurement instead of -d (0: use -d)")
	fs.IntVar(&o.rounds, "rounds", 3, "measurements of each run, interleaved with the scenario's other runs; ratios are the median over rounds")
	fs.StringVar(&names, "scenario", "all", "comma-separated scenarios: reject, reset1, reset64, memory, or all")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
	fs.StringVar(&o.jsonFile, "json-file", "", "also write the JSON report to this file")
	fs.IntVar(&o.inflight, "inflight", 500, "resets in flight at once in the memory scenario")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	fs.UintVar(&memory, "argon2-memory", uint(password.DefaultArgon2idParams().Memory), "argon2id memory in KiB (default: otpreset's)")
	fs.UintVar(&iterations, "argon2-iterations", uint(password.DefaultArgon2idParams().Iterations), "argon2id iterations (default: otpreset's)")
	fs.StringVar(&o.gomemlimit, "gomemlimit", "auto", "also run the memory scenario's otpreset child with this GOMEMLIMIT; auto: 20 MiB under the RSS budget (hash concurrency x argon2id memory + 64 MiB); \"\" to skip")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the in-process scenarios to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.concurrency < 1:
		return nil, errors.New("-c must be at least 1")
	case o.limits.d <= 0 && o.limits.n <= 0:
		return nil, errors.New("-d or -n must be positive")
	case o.rounds < 1:
		return nil, errors.New("-rounds must be at least 1")
	case o.inflight < 1:
		return nil, errors.New("-inflight must be at least 1")
	case o.timeout <= 0:
		return nil, errors.New("-timeout must be positive")
	case memory < 8 || iterations < 1 || memory > 4<<20:
		return nil, errors.New("-argon2-memory must be 8 KiB to 4 GiB and -argon2-iterations at least 1")
	}
	p := password.DefaultArgon2idParams()
	p.Memory, p.Iterations = uint32(memory), uint32(iterations)
	o.params = &p
	if o.gomemlimit == "auto" {
		o.gomemlimit = fmt.Sprintf("%dMiB", rssBudgetMiB(runtime.GOMAXPROCS(0), o.params)-20)
	}
	if names == "all" {
		o.scenarios = scenarios
	} else {
		for name := range strings.SplitSeq(names, ",") {
			s, ok := scenarioNamed(strings.TrimSpace(name))
			if !ok {
				return nil, fmt.Errorf("unknown scenario %q (want reject, reset1, reset64, memory or all)", name)
			}
			o.scenarios = append(o.scenarios, s)
		}
	}
	return o, nil
}

// rssBudgetMiB is the memory target: hash concurrency x argon2id memory +
// 64 MiB.
func rssBudgetMiB(hashSlots int, p *argon2id.Params) int {
	return hashSlots*int(p.Memory)/1024 + 64
}

// run parses args, runs the scenarios and prints the report to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep := newReport(o)
	for _, s := range o.scenarios {
		if !o.json {
			fmt.Fprintf(os.Stderr, "loadtest: %s: %s\n", s.name, s.about)
		}
		runs, err := s.run(ctx, o)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		rep.Scenarios = append(rep.Scenarios, scenarioReport{Name: s.name, About: s.about, Runs: runs})
	}
	if ctx.Err() != nil {
		return fmt.Errorf("stopped after -timeout %s or a signal: %w", o.timeout, ctx.Err())
	}
	rep.Targets = checkTargets(rep, o)
	if o.jsonFile != "" {
		f, err := os.Create(o.jsonFile)
		if err != nil {
			return err
		}
		if err := writeJSON(f, rep); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if o.json {
		return writeJSON(stdout, rep)
	}
	return writeTable(stdout, rep)
}
