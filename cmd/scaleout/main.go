// Command scaleout runs several otpreset server processes on one shared
// backend (PostgreSQL, Redis, or a Redis Cluster), drives them round robin
// from many clients for a fixed time with sends, wrong codes and right codes
// for many phones, optionally breaks something in the middle (kills an
// instance with SIGKILL, restarts PostgreSQL or Redis, fails a cluster master
// over), and then checks what must hold whatever happened:
//
//   - every code succeeded at most once;
//   - no phone got more code SMS or wrong codes than its limits allow
//     between two successful resets (a success clears its counters),
//     counted across all instances;
//   - every user's password is the one of a reset answered 200 (or of a
//     request whose answer was lost with a killed instance), never that of a
//     refused request, never half set;
//   - every 200 reset has its webhook event, delivered (counted by id) or in
//     the outbox; no event without a reset;
//   - during a fault every answer is a normal one or 500/950 within a bound,
//     and the service resumes by itself once the server is back.
//
// It prints the figures and violations of each run and exits 1 on any
// violation.
//
//	go run ./cmd/scaleout -start-servers                      # own PostgreSQL, Redis and cluster, every fault
//	go run ./cmd/scaleout -postgres URL -redis URL -faults kill # servers you run; restarts need -start-servers
//
// The server processes are this binary ("scaleout serve ..."): otpreset as
// the quickstart mounts it, with users in PostgreSQL for every backend (the
// host's database), codes and sessions in the backend under test, rate limits
// in Redis, a shared code secret, and codes printed as the quickstart prints
// them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		err = serve(ctx, os.Args[2:], os.Stdout)
	} else {
		err = harness(ctx, os.Args[1:], os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaleout:", err)
		os.Exit(1)
	}
}

// errViolations is returned when a run broke an invariant.
var errViolations = errors.New("invariants violated")

// harness parses the flags, runs every backend and fault asked for, and
// prints the reports.
func harness(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("scaleout", flag.ContinueOnError)
	fs.SetOutput(out)
	var (
		backends = fs.String("backends", "postgres,redis,redis-cluster", "backends to run, comma separated")
		faults   = fs.String("faults", "none,kill,restart,kill-master", "none | kill (SIGKILL one instance) | restart (PostgreSQL restart, Redis restart, cluster failover) | kill-master (SIGKILL of a cluster master, cluster only, run it last); restart and kill-master need -start-servers; default none,kill without -start-servers")
		start    = fs.Bool("start-servers", false, "start a PostgreSQL, a Redis and a 6-node Redis Cluster of its own (Debian packages) in a temporary directory")
		pgURL    = fs.String("postgres", os.Getenv("OTPRESET_POSTGRES_URL"), "PostgreSQL URL (a schema per run is made in it)")
		redisURL = fs.String("redis", os.Getenv("OTPRESET_REDIS_URL"), "Redis URL")
		cluster  = fs.String("redis-cluster", os.Getenv("OTPRESET_REDIS_CLUSTER_ADDRS"), "Redis Cluster nodes, comma separated")
		inst     = fs.Int("instances", 3, "server processes (at least 3)")
		clients  = fs.Int("clients", 32, "concurrent clients")
		phones   = fs.Int("phones", 1000, "users (a tenth of them attacked: only sends and wrong codes)")
		duration = fs.Duration("duration", 10*time.Second, "length of each run; after a fault it runs on for a third of this and until a reset succeeds, at most 30 s")
		verbose  = fs.Bool("v", false, "print progress and the instances' logs")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	faultsSet := false
	fs.Visit(func(f *flag.Flag) { faultsSet = faultsSet || f.Name == "faults" })
	if !faultsSet && !*start {
		// Restarts need servers of the harness's own.
		*faults = "none,kill"
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	log := io.Discard
	if *verbose {
		log = os.Stderr
	}
	var srv *ownServers
	if *start {
		dir, err := os.MkdirTemp("", "scaleout-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		srv, err = startOwnServers(ctx, dir)
		if err != nil {
			return err
		}
		defer srv.Close()
		*pgURL, *redisURL, *cluster = srv.pg.URL(), "redis://"+srv.redis.Addr()+"/0", strings.TrimPrefix(srv.cluster.Spec(), "redis-cluster://")
	}
	failed := false
	for _, b := range strings.Split(*backends, ",") {
		for _, f := range strings.Split(*faults, ",") {
			cfg := runConfig{
				Backend: b, Postgres: *pgURL, Instances: *inst, Clients: *clients, Phones: *phones,
				Duration: *duration, Exe: exe, Log: log,
			}
			if err := backendConfig(&cfg, *redisURL, *cluster); err != nil {
				return err
			}
			if cfg.Fault, err = faultFor(b, f, srv, *duration); err != nil {
				return err
			}
			if cfg.Fault == nil && f != "none" {
				continue // kill-master is for the cluster only
			}
			if cfg.Postgres == "" || cfg.Limits == "" {
				return fmt.Errorf("%s: give -postgres and -redis (and -redis-cluster), or -start-servers", b)
			}
			rep, err := execute(ctx, cfg)
			if err != nil {
				return fmt.Errorf("%s, fault %s: %w", b, f, err)
			}
			rep.print(out)
			failed = failed || len(rep.Violations) > 0
		}
	}
	if failed {
		return errViolations
	}
	return nil
}

// backendConfig sets the instances' stores for backend b.
func backendConfig(cfg *runConfig, redisURL, cluster string) error {
	switch cfg.Backend {
	case "postgres":
		cfg.Store, cfg.Limits = "postgres", redisURL
	case "redis":
		cfg.Store, cfg.Limits = redisURL, redisURL
	case "redis-cluster":
		if cluster == "" {
			return errors.New("redis-cluster: give -redis-cluster or -start-servers")
		}
		cfg.Store = "redis-cluster://" + cluster
		cfg.Limits = cfg.Store
	default:
		return fmt.Errorf("unknown backend %q", cfg.Backend)
	}
	return nil
}

// faultFor is the fault named f for backend b, injected a third into the
// run. "restart" restarts the backend's server (PostgreSQL stopped with -m
// fast and started again after a second down, Redis shut down and started
// again on its AOF) or fails a cluster master over.
func faultFor(b, f string, srv *ownServers, d time.Duration) (*fault, error) {
	at := d / 3
	switch f {
	case "", "none":
		return nil, nil
	case "kill":
		return &fault{Name: "kill -9 of one instance", At: at, do: func(_ context.Context, r *run) error {
			r.kill(0)
			return nil
		}}, nil
	case "kill-master":
		if b != "redis-cluster" {
			return nil, nil
		}
		if srv == nil {
			return nil, errors.New("the kill-master fault needs -start-servers (it must not break servers others use)")
		}
		// Early: the failover alone takes seconds (cluster-node-timeout 2 s,
		// then an election), and the run must see the service resume.
		return &fault{Name: "kill -9 of a Redis Cluster master (automatic failover)", At: d / 6, do: func(ctx context.Context, _ *run) error {
			_, _, err := srv.cluster.killMaster(ctx)
			return err
		}}, nil
	case "restart":
		if srv == nil {
			return nil, errors.New("the restart fault needs -start-servers (it must not restart servers others use)")
		}
		switch b {
		case "postgres":
			return pgRestart(srv.pg, at), nil
		case "redis":
			return redisRestart(srv.redis, at), nil
		default:
			return clusterFailover(srv.cluster, at), nil
		}
	}
	return nil, fmt.Errorf("unknown fault %q", f)
}

// outage is how long a restarted server stays down, so that requests
// certainly meet the outage. Redis stays down longer than go-redis's
// default DialTimeout (5 s): within it the instances' clients waited the
// outage out and answered no 950 in 2 runs of 5 (their longest answer was
// the outage's length).
const (
	outage      = time.Second
	redisOutage = 6 * time.Second
)

func pgRestart(pg *pgServer, at time.Duration) *fault {
	return &fault{Name: "PostgreSQL restart (pg_ctl -m fast)", At: at, do: func(ctx context.Context, _ *run) error {
		if err := pg.stop(ctx); err != nil {
			return err
		}
		time.Sleep(outage)
		return pg.start(ctx)
	}}
}

func redisRestart(rs *redisServer, at time.Duration) *fault {
	return &fault{Name: "Redis restart (SHUTDOWN, AOF kept)", At: at, do: func(ctx context.Context, _ *run) error {
		if err := rs.shutdown(ctx); err != nil {
			return err
		}
		time.Sleep(redisOutage)
		return rs.start(ctx)
	}}
}

func clusterFailover(c *redisCluster, at time.Duration) *fault {
	return &fault{Name: "Redis Cluster master failover (CLUSTER FAILOVER on a replica)", At: at, do: func(ctx context.Context, _ *run) error {
		_, _, err := c.failover(ctx)
		return err
	}}
}

// ownServers are the servers -start-servers (and the fault tests) start.
type ownServers struct {
	pg      *pgServer
	redis   *redisServer
	cluster *redisCluster
}

func startOwnServers(ctx context.Context, dir string) (*ownServers, error) {
	s := &ownServers{}
	var err error
	if s.pg, err = startPostgres(ctx); err != nil {
		return nil, err
	}
	if s.redis, err = startRedis(ctx, filepath.Join(dir, "redis")); err != nil {
		s.Close()
		return nil, err
	}
	if s.cluster, err = startCluster(ctx, filepath.Join(dir, "cluster")); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops every server started.
func (s *ownServers) Close() {
	if s.cluster != nil {
		s.cluster.Close()
	}
	if s.redis != nil {
		s.redis.Close()
	}
	if s.pg != nil {
		s.pg.Close()
	}
}
