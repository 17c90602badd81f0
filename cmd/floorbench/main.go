// Command floorbench measures otpreset on PostgreSQL beside the floor: a
// bare net/http + pgx handler that takes the same JSON and gives the same
// answer with one write per request (an UPDATE of the phone's counter row),
// the least a server can do to count a wrong code so that the count
// survives a restart. It reports, for wrong codes and for sends, each
// server's requests/s, p50/p99 latency and server CPU per request (the
// machine's busy time from /proc/stat less the load generator's own CPU),
// and otpreset's ratios to the floor against issue 23's targets.
//
//	go run ./cmd/floorbench -pg "$OTPRESET_POSTGRES_URL"                 # 3 rounds of 10 s per phase
//	go run ./cmd/floorbench -pg "$OTPRESET_POSTGRES_URL" -d 2s -rounds 1 # a quick look
//
// The run works in a schema of its own, created and dropped in the given
// database: 10,000 users (-users), each sent a code before the run, and
// their counter rows for the floor. Both servers run as child processes
// (this binary again) on loopback, so that the load generator's CPU is
// told apart from theirs; the generator sends wrong codes and sends spread
// over the phones and over 64 client networks (-networks, named in
// X-Forwarded-For, which otpreset believes from loopback). Phases
// alternate otpreset and floor, in the order AB BA AB ..., so that load
// from elsewhere on the machine falls on both. Every phase stops after -d
// or -n requests, and the whole run after -timeout. Linux only (/proc).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/postgres"
)

func main() {
	if mode := os.Getenv(serveEnv); mode != "" {
		os.Exit(childMain(mode, os.Stdin, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "floorbench:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	pg        string
	users     int
	networks  int
	clients   int
	perPhase  time.Duration
	maxPhase  int64
	rounds    int
	scenarios []string
	limits    string
	timeout   time.Duration
	jsonFile  string
	keep      bool
	profile   string
}

func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("floorbench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.pg, "pg", os.Getenv("OTPRESET_POSTGRES_URL"), "PostgreSQL URL (default $OTPRESET_POSTGRES_URL); the run creates and drops a schema of its own in it")
	fs.IntVar(&o.users, "users", 10000, "users (phones), each sent a code before the run")
	fs.IntVar(&o.networks, "networks", 64, "client networks the requests come from")
	fs.IntVar(&o.clients, "c", 64, "concurrent clients")
	fs.DurationVar(&o.perPhase, "d", 10*time.Second, "duration of each phase")
	fs.Int64Var(&o.maxPhase, "n", 1_000_000, "most requests of each phase")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each runs every scenario on both servers")
	scenarios := fs.String("scenarios", "wrong,send", "what to measure: wrong (wrong codes), send (codes asked for)")
	fs.StringVar(&o.limits, "limits", "off", "otpreset's tenant limits: off (every wrong code answered 401 and counted all run long) or default (the tenant defaults: phones and networks run into them)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "the whole run's bound")
	fs.StringVar(&o.jsonFile, "json-file", "", "also write the report as JSON to this file")
	fs.BoolVar(&o.keep, "keep", false, "keep the run's schema (its name is printed)")
	fs.StringVar(&o.profile, "cpuprofile", "", "write each server process's CPU profile (the whole run) to this path's prefix: PREFIX.otpreset, PREFIX.floor")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.scenarios = strings.Split(*scenarios, ",")
	var problems []string
	for _, s := range o.scenarios {
		if s != scenarioWrong && s != scenarioSend {
			problems = append(problems, fmt.Sprintf("-scenarios: unknown %q", s))
		}
	}
	if o.pg == "" {
		problems = append(problems, "-pg: a PostgreSQL URL is required")
	}
	if o.users < 1 || o.networks < 1 || o.networks > 64000 || o.clients < 1 || o.rounds < 1 || o.perPhase <= 0 {
		problems = append(problems, "-users, -networks (at most 64000), -c, -rounds and -d must be positive")
	}
	if o.limits != "off" && o.limits != "default" {
		problems = append(problems, fmt.Sprintf("-limits %q: want off or default", o.limits))
	}
	if len(problems) > 0 {
		return o, errors.New(strings.Join(problems, "; "))
	}
	return o, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	admin, err := pgxpool.New(ctx, o.pg)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer admin.Close()
	var version, fsync, syncCommit string
	if err := admin.QueryRow(ctx, `SELECT version(), current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&version, &fsync, &syncCommit); err != nil {
		return fmt.Errorf("PostgreSQL: %w", err)
	}
	schema := randomName("floorbench_")
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if o.keep {
		fmt.Fprintf(out, "schema %s kept\n", schema)
	} else {
		defer func() {
			dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer dcancel()
			if _, err := admin.Exec(dctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				fmt.Fprintf(os.Stderr, "floorbench: drop schema %s: %v\n", schema, err)
			}
		}()
	}
	pgURL, err := withSearchPath(o.pg, schema)
	if err != nil {
		return err
	}
	tr := newTraffic(o.users, o.networks)
	if err := seed(ctx, pgURL, tr.phones); err != nil {
		return err
	}

	env := []string{serveURLEnv + "=" + pgURL, serveLimitEnv + "=" + o.limits}
	if o.profile != "" {
		env = append(env, serveProfileEnv+"="+o.profile)
	}
	otp, err := startChild(ctx, serveOtpreset, env)
	if err != nil {
		return err
	}
	defer otp.stop()
	client := newClient(o.clients)
	answers, err := recordAnswers(ctx, client, tr, otp.url)
	if err != nil {
		return err
	}
	if err := sendCodes(ctx, client, tr, otp.url, o.clients); err != nil {
		return err
	}
	floor, err := startChild(ctx, serveFloor, append(env, serveAnswerEnv+"="+encodeAnswers(answers)))
	if err != nil {
		return err
	}
	defer floor.stop()

	// What the machine does without our load: the CPU per request below
	// holds it too, so a busy machine shows here first.
	background, err := idleBusy(ctx, otp.pid, time.Second)
	if err != nil {
		return err
	}
	rep := report{Settings: settings{
		Users: o.users, Networks: o.networks, Clients: o.clients, Rounds: o.rounds,
		PerPhase: o.perPhase, MaxPhase: o.maxPhase, Limits: o.limits,
		Postgres: fmt.Sprintf("%s, fsync=%s, synchronous_commit=%s", firstWords(version, 2), fsync, syncCommit),
		CPUs:     runtime.NumCPU(), Go: runtime.Version(), StartedAt: time.Now().UTC(), Background: background,
	}}
	servers := map[string]*child{serveOtpreset: otp, serveFloor: floor}
	ok := map[string]map[int]bool{
		serveOtpreset + scenarioWrong: expected(scenarioWrong, o.limits),
		serveOtpreset + scenarioSend:  expected(scenarioSend, o.limits),
		serveFloor + scenarioWrong:    {answers.WrongStatus: true},
		serveFloor + scenarioSend:     {answers.SendStatus: true},
	}
	// Warm up: every connection of both servers open, their pools filled.
	for _, sc := range o.scenarios {
		for _, name := range []string{serveOtpreset, serveFloor} {
			if _, err := load(ctx, client, tr, servers[name].url, sc, ok[name+sc], o.clients, bound{n: int64(4 * o.clients), d: o.perPhase}, servers[name].pid); err != nil {
				return err
			}
		}
	}
	for r := range o.rounds {
		order := []string{serveOtpreset, serveFloor}
		if r%2 == 1 {
			order = []string{serveFloor, serveOtpreset}
		}
		for _, sc := range o.scenarios {
			for _, name := range order {
				p, err := load(ctx, client, tr, servers[name].url, sc, ok[name+sc], o.clients, bound{n: o.maxPhase, d: o.perPhase}, servers[name].pid)
				if err != nil {
					return err
				}
				p.Server, p.Round = name, r+1
				rep.Phases = append(rep.Phases, p)
				if ctx.Err() != nil {
					return fmt.Errorf("stopped in round %d: %w", r+1, ctx.Err())
				}
			}
		}
	}
	rep.summarize(o.scenarios)
	rep.print(out)
	if o.jsonFile != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.jsonFile, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// idleBusy is how many CPUs the machine kept busy over d while the run sent
// nothing.
func idleBusy(ctx context.Context, pid int, d time.Duration) (float64, error) {
	a, err := sampleCPU(pid)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	b, err := sampleCPU(pid)
	if err != nil {
		return 0, err
	}
	return busyCPUs(cpuBetween(a, b).Server, time.Since(t0)), nil
}

// summarize fills the totals and the ratios from the phases.
func (rep *report) summarize(scenarios []string) {
	for _, sc := range scenarios {
		by := map[string][]phaseResult{}
		for _, p := range rep.Phases {
			if p.Scenario == sc {
				by[p.Server] = append(by[p.Server], p)
			}
		}
		if len(by[serveOtpreset]) == 0 || len(by[serveFloor]) == 0 {
			continue
		}
		o, f := sum(by[serveOtpreset]), sum(by[serveFloor])
		rep.Totals = append(rep.Totals, o, f)
		rep.Ratios = append(rep.Ratios, compare(sc, o, f, by[serveOtpreset], by[serveFloor]))
	}
}

// expected are the statuses otpreset may answer in a scenario: with every
// limit off, only the one answer; under the tenant defaults also the
// lockout (403) and the rate limits (429).
func expected(scenario, limits string) map[int]bool {
	ok := map[int]bool{http.StatusOK: true}
	if scenario == scenarioWrong {
		ok = map[int]bool{http.StatusUnauthorized: true}
	}
	if limits == "default" {
		ok[http.StatusForbidden], ok[http.StatusTooManyRequests] = true, true
	}
	return ok
}

// firstWords is the first n words of s ("PostgreSQL 15.8").
func firstWords(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}

// withSearchPath is pgURL with search_path set to schema, in the URL form
// or the keyword/value form.
func withSearchPath(pgURL, schema string) (string, error) {
	u, err := url.Parse(pgURL)
	if err != nil || u.Scheme == "" {
		return strings.TrimSpace(pgURL) + " search_path=" + schema, nil
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", fmt.Errorf("-pg: want a postgres:// URL, got %s://", u.Scheme)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// seed migrates otpreset's schema and adds the users, then creates the
// floor's counter rows.
func seed(ctx context.Context, pgURL string, phones []string) error {
	st, err := postgres.Open(ctx, pgURL, postgres.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	hash, err := argon2id.CreateHash(oldPass, seedParams)
	if err != nil {
		return err
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				uid := fmt.Sprintf("uid-%05d", i)
				profile, _ := json.Marshal(map[string]any{"Uid": uid, "ID": uid, "PhoneId": phones[i], "PhoneIdVerified": true, "FirstName": "Floor", "IsActive": true})
				err := st.AddUser(ctx, store.User{TenantID: tenantID, ID: uid, Phone: phones[i], PasswordHash: hash, Profile: profile})
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, fmt.Errorf("add user %d: %w", i, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range phones {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	pool, err := pgxpool.New(ctx, pgURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = pool.Exec(ctx, `CREATE TABLE `+floorTable+` (phone text PRIMARY KEY, n bigint NOT NULL DEFAULT 0)`)
	if err == nil {
		_, err = pool.Exec(ctx, `INSERT INTO `+floorTable+` (phone) SELECT unnest($1::text[])`, phones)
	}
	if err != nil {
		return fmt.Errorf("floor table: %w", err)
	}
	return ctx.Err()
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// recordAnswers asks otpreset for a code and sends it a wrong one, and
// returns both answers for the floor to give.
func recordAnswers(ctx context.Context, client *http.Client, tr *traffic, base string) (floorAnswers, error) {
	var a floorAnswers
	for _, sc := range []string{scenarioSend, scenarioWrong} {
		req, err := tr.request(ctx, base, sc, 0)
		if err != nil {
			return a, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return a, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return a, err
		}
		want := map[string]int{scenarioSend: http.StatusOK, scenarioWrong: http.StatusUnauthorized}[sc]
		if resp.StatusCode != want {
			return a, fmt.Errorf("otpreset answered the first %s %d, want %d: %s", sc, resp.StatusCode, want, trimBody(body))
		}
		if sc == scenarioSend {
			a.SendStatus, a.SendBody = resp.StatusCode, body
		} else {
			a.WrongStatus, a.WrongBody = resp.StatusCode, body
		}
	}
	return a, nil
}

// sendCodes asks otpreset for a code for every phone, so that the wrong
// codes of the run fall on phones that hold a live one.
func sendCodes(ctx context.Context, client *http.Client, tr *traffic, base string, clients int) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int64)
	)
	for range clients {
		wg.Go(func() {
			for k := range next {
				status, _, err := do(ctx, client, tr, base, scenarioSend, k)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("send before the run: status %d", status)
				}
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
				}
			}
		})
	}
	for k := range int64(len(tr.phones)) {
		if ctx.Err() != nil {
			break
		}
		next <- k
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// child is a server process of the run.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	url   string
	pid   int
	done  chan struct{}
}

// startChild runs this binary as the server mode, with env added to the
// environment, and waits until it listens.
func startChild(ctx context.Context, mode string, env []string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), serveEnv+"="+mode), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, pid: cmd.Process.Pid, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- a
			}
		}
		_ = cmd.Wait()
		close(c.done)
	}()
	select {
	case a := <-addr:
		c.url = "http://" + a
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("%s server exited before listening", mode)
	case <-time.After(time.Minute):
	case <-ctx.Done():
	}
	c.stop()
	return nil, fmt.Errorf("%s server did not listen within a minute", mode)
}

// stop closes the child's stdin, which ends it, and kills it if it has not
// ended within 10 s.
func (c *child) stop() {
	_ = c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}
