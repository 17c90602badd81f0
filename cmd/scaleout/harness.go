package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/webhook"
)

// runConfig is one run: N instances on one backend, C clients for a fixed
// time, optionally one fault in the middle.
type runConfig struct {
	Backend   string        // a name for the report: postgres, redis, redis-cluster
	Store     string        // the instances' -store
	Limits    string        // the instances' -limits (redis:// or redis-cluster://)
	Postgres  string        // PostgreSQL URL of the users (a schema of the run's own is made in it)
	Instances int           // server processes, at least 3
	Clients   int           // concurrent clients
	Phones    int           // users seeded, a tenth of them only ever get wrong codes
	Duration  time.Duration // how long the clients run; see resumeWait for a fault that ends late
	Fault     *fault        // nil: none
	Exe       string        // binary run as "Exe serve ..." (with SCALEOUT_CHILD=serve)
	Log       io.Writer     // progress and the instances' stderr; nil: discarded
}

// fault is injected at At into the run; do returns once the service it broke
// is back (for a kill, at once).
type fault struct {
	Name string
	At   time.Duration
	do   func(ctx context.Context, r *run) error
}

// answerBound is how long any answer may take, during a fault too: the store
// clients' timeouts (serve.go) plus go-redis's retries, with room to spare on
// a loaded machine. README documents it.
const answerBound = 5 * time.Second

// After a fault the clients run on for at least a third of the run's
// Duration, and until a reset has succeeded, for at most resumeWait: on a
// loaded machine a restart can outlast the run, or the little time left
// after it hold no reset, and the run would then report that the service
// never resumed. Past resumeWait, it did not.
const resumeWait = 30 * time.Second

// recoveryBound is how soon after the failed server is back (or its replica
// promoted) the service must answer without 950 again, by itself.
const recoveryBound = 3 * time.Second

// op is one request of a client.
type op struct {
	kind     byte // 's' send, 'w' wrong code, 'r' the latest code sent
	phone    string
	code     string
	password string
	inst     int
	start    time.Time
	end      time.Time
	status   int // 0: no answer (connection lost, timeout)
	errCode  int
	uid      string // of a 200 reset
}

// instance is one server process.
type instance struct {
	idx  int
	cmd  *exec.Cmd
	addr string
	dead atomic.Bool
	done chan struct{}
}

// run is the state of one run.
type run struct {
	cfg     runConfig
	tenant  string
	apiKey  string
	secret  string
	hookKey string
	pgURL   string // with the run's schema as search_path
	insts   []*instance
	next    atomic.Uint64
	client  *http.Client

	mu       sync.Mutex
	codes    map[string][]string // phone -> every code sent, in order
	sms      map[string]int
	events   map[string]int    // webhook id -> deliveries
	eventUID map[string]string // webhook id -> user id
	ops      []op
	phones   []string
	uidPhone map[string]string
	killed   int // index of the killed instance, -1 if none

	faultStart, faultEnd time.Time
	// resumed is closed at the first successful reset that started after
	// the fault ended.
	resumed     chan struct{}
	resumedSeen bool
}

// smsLine is a line of sms.LogSender: phone and code.
var smsLine = regexp.MustCompile(`^sms tenant=\S+ to=(\S+) .*?\bcode=(\d+) `)

// execute runs cfg and checks its invariants.
func execute(ctx context.Context, cfg runConfig) (*report, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Instances < 3 {
		return nil, fmt.Errorf("at least 3 instances, not %d", cfg.Instances)
	}
	r := &run{
		cfg:      cfg,
		tenant:   "scaleout-" + randomHex(6),
		apiKey:   randomHex(16),
		secret:   randomHex(32),
		hookKey:  "whsec_" + randomHex(24),
		codes:    map[string][]string{},
		sms:      map[string]int{},
		events:   map[string]int{},
		eventUID: map[string]string{},
		uidPhone: map[string]string{},
		killed:   -1,
		resumed:  make(chan struct{}),
		client: &http.Client{Timeout: 2 * answerBound, Transport: &http.Transport{
			MaxIdleConns: cfg.Clients * 2, MaxIdleConnsPerHost: cfg.Clients,
		}},
	}
	defer r.client.CloseIdleConnections()
	pgURL, dropSchema, err := newSchema(ctx, cfg.Postgres)
	if err != nil {
		return nil, err
	}
	defer dropSchema()
	r.pgURL = pgURL
	if err := r.seed(ctx); err != nil {
		return nil, err
	}
	hooks := httptest.NewServer(http.HandlerFunc(r.receiveWebhook))
	defer hooks.Close()
	defer r.stopAll()
	for i := range cfg.Instances {
		if err := r.startInstance(ctx, i, hooks.URL); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(cfg.Log, "%s: %d instances up, %d clients for %s\n", cfg.Backend, cfg.Instances, cfg.Clients, cfg.Duration)

	began := time.Now()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	faultDone := make(chan struct{})
	if cfg.Fault == nil {
		close(faultDone)
	}
	// The clients stop after Duration, or after the fault as resumeWait
	// says.
	go func() {
		defer stop()
		select {
		case <-time.After(cfg.Duration):
		case <-ctx.Done():
			return
		}
		select {
		case <-faultDone:
		case <-ctx.Done():
			return
		}
		r.mu.Lock()
		end := r.faultEnd
		r.mu.Unlock()
		if end.IsZero() {
			return
		}
		select {
		case <-time.After(time.Until(end.Add(cfg.Duration / 3))):
		case <-ctx.Done():
			return
		}
		select {
		case <-r.resumed:
		case <-time.After(time.Until(end.Add(resumeWait))):
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	for w := range cfg.Clients {
		wg.Add(1)
		go func() { defer wg.Done(); r.client1(runCtx, w) }()
	}
	var faultErr error
	if cfg.Fault != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(faultDone)
			select {
			case <-runCtx.Done():
				faultErr = errors.New("the run ended before the fault")
				return
			case <-time.After(cfg.Fault.At):
			}
			r.mu.Lock()
			r.faultStart = time.Now()
			r.mu.Unlock()
			err := cfg.Fault.do(ctx, r)
			r.mu.Lock()
			r.faultEnd = time.Now()
			r.mu.Unlock()
			faultErr = err
			fmt.Fprintf(cfg.Log, "%s: fault %s from %s for %s\n", cfg.Backend, cfg.Fault.Name,
				r.faultStart.Sub(began).Round(time.Millisecond), r.faultEnd.Sub(r.faultStart).Round(time.Millisecond))
		}()
	}
	wg.Wait()
	if faultErr != nil {
		return nil, fmt.Errorf("fault %s: %w", cfg.Fault.Name, faultErr)
	}
	r.drainWebhooks(ctx)
	r.stopAll()
	return r.check(ctx)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newSchema makes a schema of the run's own and answers a URL using it.
func newSchema(ctx context.Context, base string) (string, func(), error) {
	schema := "scaleout_" + randomHex(6)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			_ = c.Close(context.Background())
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// initialPassword is every user's password before the run.
const initialPassword = "Initial-P@ssw0rd"

// seed migrates the run's schema and adds the users, phones
// +9198<8 digits>, ids u-<n>.
func (r *run) seed(ctx context.Context) error {
	s, err := openUsers(ctx, r.pgURL)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	hash, err := argon2id.CreateHash(initialPassword, harnessArgon2)
	if err != nil {
		return err
	}
	for i := range r.cfg.Phones {
		phone := fmt.Sprintf("+9198%08d", 10000000+i)
		uid := fmt.Sprintf("u-%d", i)
		profile := fmt.Sprintf(`{"Uid":%q,"ID":%q,"PhoneId":%q}`, uid, uid, phone)
		if err := s.AddUser(ctx, store.User{TenantID: r.tenant, ID: uid, Phone: phone, PasswordHash: hash, Profile: []byte(profile)}); err != nil {
			return fmt.Errorf("add user: %w", err)
		}
		r.phones = append(r.phones, phone)
		r.uidPhone[uid] = phone
	}
	return nil
}

// startInstance starts server i and waits until it listens.
func (r *run) startInstance(ctx context.Context, i int, hookURL string) error {
	cmd := exec.Command(r.cfg.Exe, "serve",
		"-store", r.storeSpec(), "-users", r.pgURL, "-limits", r.cfg.Limits,
		"-secret", r.secret, "-apikey", r.apiKey, "-tenant", r.tenant,
		"-webhook", hookURL, "-webhook-secret", r.hookKey)
	cmd.Env = append(os.Environ(), "SCALEOUT_CHILD=serve")
	cmd.Stderr = r.cfg.Log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start instance %d: %w", i, err)
	}
	in := &instance{idx: i, cmd: cmd, done: make(chan struct{})}
	r.insts = append(r.insts, in)
	ready := make(chan string, 1)
	go func() {
		scanLines(stdout, func(line string) {
			if addr, ok := strings.CutPrefix(line, "listening on "); ok {
				ready <- addr
				return
			}
			if m := smsLine.FindStringSubmatch(line); m != nil {
				r.mu.Lock()
				r.codes[m[1]] = append(r.codes[m[1]], m[2])
				r.sms[m[1]]++
				r.mu.Unlock()
				return
			}
			fmt.Fprintf(r.cfg.Log, "instance %d: %s\n", i, line)
		})
		_ = cmd.Wait()
		close(in.done)
	}()
	select {
	case in.addr = <-ready:
		return nil
	case <-in.done:
		return fmt.Errorf("instance %d exited before listening", i)
	case <-time.After(30 * time.Second):
		return fmt.Errorf("instance %d did not listen within 30 s", i)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// storeSpec is the instances' -store: the run's PostgreSQL schema for the
// postgres backend.
func (r *run) storeSpec() string {
	if r.cfg.Store == "postgres" {
		return r.pgURL
	}
	return r.cfg.Store
}

// kill sends SIGKILL to instance i and waits for it to die.
func (r *run) kill(i int) {
	in := r.insts[i]
	in.dead.Store(true)
	r.mu.Lock()
	r.killed = i
	r.mu.Unlock()
	_ = in.cmd.Process.Signal(syscall.SIGKILL)
	<-in.done
}

// stopAll ends the instances still running, gracefully (SIGTERM: each
// drains its webhook queue), and waits for them.
func (r *run) stopAll() {
	for _, in := range r.insts {
		if !in.dead.Swap(true) {
			_ = in.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, in := range r.insts {
		select {
		case <-in.done:
		case <-time.After(10 * time.Second):
			_ = in.cmd.Process.Kill()
			<-in.done
		}
	}
}

// pick chooses the next live instance, round robin.
func (r *run) pick() *instance {
	for {
		in := r.insts[r.next.Add(1)%uint64(len(r.insts))]
		if !in.dead.Load() {
			return in
		}
	}
}

// client1 is one client: until ctx ends it asks for codes, guesses wrong
// and presents the latest code, for random phones. The first tenth of the
// phones are attacked: they only ever get sends and wrong codes.
func (r *run) client1(ctx context.Context, w int) {
	rnd := mrand.New(mrand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	attacked := max(1, len(r.phones)/10)
	for ctx.Err() == nil {
		i := rnd.IntN(len(r.phones))
		phone := r.phones[i]
		x := rnd.IntN(100)
		o := op{phone: phone}
		switch {
		case i < attacked && x < 30, i >= attacked && x < 35:
			o.kind = 's'
		case i < attacked, x < 50:
			o.kind = 'w'
			o.code = r.wrongCode(rnd, phone)
			o.password = "wrong-" + randomHex(8)
		default:
			r.mu.Lock()
			codes := r.codes[phone]
			r.mu.Unlock()
			if len(codes) == 0 {
				o.kind = 's'
				break
			}
			o.kind = 'r'
			o.code = codes[len(codes)-1]
			o.password = "new-" + randomHex(8)
		}
		r.do(ctx, &o)
		r.mu.Lock()
		r.ops = append(r.ops, o)
		if o.kind == 'r' && o.status == 200 && !r.faultEnd.IsZero() && o.start.After(r.faultEnd) && !r.resumedSeen {
			r.resumedSeen = true
			close(r.resumed)
		}
		r.mu.Unlock()
	}
}

// wrongCode is six digits that were never sent to phone.
func (r *run) wrongCode(rnd *mrand.Rand, phone string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		c := fmt.Sprintf("%06d", rnd.IntN(1000000))
		sent := false
		for _, s := range r.codes[phone] {
			sent = sent || s == c
		}
		if !sent {
			return c
		}
	}
}

// do sends o to the next live instance and records the answer.
func (r *run) do(ctx context.Context, o *op) {
	in := r.pick()
	o.inst = in.idx
	method, body := http.MethodPost, map[string]string{"phone": o.phone}
	if o.kind != 's' {
		method, body = http.MethodPut, map[string]string{"phone": o.phone, "otp": o.code, "password": o.password}
	}
	b, _ := json.Marshal(body)
	// The request is not tied to ctx: one in flight when the run ends is
	// let finish, so that its outcome is known.
	req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), method,
		"http://"+in.addr+otpreset.Path+"?apikey="+r.apiKey, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	o.start = time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		o.end = time.Now()
		return // status 0: the outcome is unknown to the client
	}
	defer resp.Body.Close()
	var ans struct {
		ErrorCode  int
		ErrorCode2 int `json:"errorCode"`
		Data       struct{ Profile struct{ Uid string } }
	}
	raw, err := io.ReadAll(resp.Body)
	o.end = time.Now()
	if err != nil {
		return
	}
	o.status = resp.StatusCode
	_ = json.Unmarshal(raw, &ans)
	o.errCode = max(ans.ErrorCode, ans.ErrorCode2)
	o.uid = ans.Data.Profile.Uid
}

// receiveWebhook counts deliveries by id after checking the signature.
func (r *run) receiveWebhook(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	if err != nil {
		http.Error(w, "body", http.StatusBadRequest)
		return
	}
	if err := webhook.Verify(req.Header, body, webhook.Secrets{Standard: r.hookKey}); err != nil {
		http.Error(w, "signature", http.StatusUnauthorized)
		return
	}
	var ev struct {
		HookId string
		Data   struct{ Uid string }
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.HookId == "" {
		http.Error(w, "payload", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.events[ev.HookId]++
	r.eventUID[ev.HookId] = ev.Data.Uid
	r.mu.Unlock()
}

// drainWebhooks waits until every 200 reset has an event delivered, or no
// new delivery came for 2 s (then the checker reads the outbox), at most 20 s.
func (r *run) drainWebhooks(ctx context.Context) {
	deadline := time.Now().Add(20 * time.Second)
	last, lastChange := -1, time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		r.mu.Lock()
		n, ok := len(r.events), 0
		for _, o := range r.ops {
			if o.kind == 'r' && o.status == 200 {
				ok++
			}
		}
		r.mu.Unlock()
		if n >= ok {
			return
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > 2*time.Second {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
