package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/redis/go-redis/v9"

	"github.com/otpreset/go/internal/httpserve"
	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/redisstore"
	"github.com/otpreset/go/webhook"
)

// Timeouts every instance sets on its store clients. They are what bounds an
// answer while a database is down or restarting: a request that cannot reach
// its store is answered 500/950 within about these times (plus go-redis's
// retries of a refused dial), never left hanging.
const (
	pgConnectTimeout = 2 * time.Second
	redisDialTimeout = 2 * time.Second
	redisIOTimeout   = 2 * time.Second
	clusterReload    = time.Second
)

// harnessArgon2 are the argon2id parameters of the harness's users and
// instances: far below OWASP's, so that the run measures the stores and the
// checker can compare every user's final hash cheaply. Never use them in
// production.
var harnessArgon2 = &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// serveOptions are the flags of one server process ("scaleout serve").
type serveOptions struct {
	addr    string
	store   string // postgres://... | redis://... | redis-cluster://host:port,...
	users   string // postgres://... where the users live
	limits  string // redis://... | redis-cluster://... for the shared rate limits
	secret  string // hex, the same on every instance
	apiKey  string
	tenant  string
	webhook string // URL of the webhook receiver
	hookKey string // its Standard Webhooks secret (whsec_...)
}

// serve runs one instance until ctx ends. It prints "listening on ADDR" once
// it accepts requests, and every SMS as sms.LogSender writes it (the harness
// reads the codes from there).
func serve(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("scaleout serve", flag.ContinueOnError)
	fs.SetOutput(out)
	var o serveOptions
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "address to listen on")
	fs.StringVar(&o.store, "store", "", "codes and sessions: postgres://..., redis://... or redis-cluster://host:port,host:port")
	fs.StringVar(&o.users, "users", "", "PostgreSQL URL of the users (the host's database)")
	fs.StringVar(&o.limits, "limits", "", "Redis for the shared rate limits: redis://... or redis-cluster://...")
	fs.StringVar(&o.secret, "secret", "", "code secret, hex, at least 32 bytes, the same on every instance")
	fs.StringVar(&o.apiKey, "apikey", "scaleout-api-key", "the tenant's API key")
	fs.StringVar(&o.tenant, "tenant", "scaleout", "the tenant's id")
	fs.StringVar(&o.webhook, "webhook", "", "webhook receiver URL")
	fs.StringVar(&o.hookKey, "webhook-secret", "", "the receiver's Standard Webhooks secret")
	if err := fs.Parse(args); err != nil {
		return err
	}
	secret, err := hex.DecodeString(o.secret)
	if err != nil || len(secret) < 32 {
		return fmt.Errorf("-secret: want at least 32 bytes in hex")
	}
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn}))

	users, err := openUsers(ctx, o.users)
	if err != nil {
		return err
	}
	defer users.Close()
	limitClient, err := openRedis(o.limits)
	if err != nil {
		return err
	}
	defer limitClient.Close()
	limitStore, err := redisstore.NewLimiterStore(limitClient, "")
	if err != nil {
		return err
	}

	var st store.Store = users
	outbox := false
	if strings.HasPrefix(o.store, "redis") {
		codes, err := openRedis(o.store)
		if err != nil {
			return err
		}
		defer codes.Close()
		rs, err := redisstore.New(codes, redisstore.Config{})
		if err != nil {
			return err
		}
		// Codes and their counters (lockouts, the guessing budget) in
		// Redis, shared by the instances.
		st = store.Composite{Users: users, Challenges: rs, Sessions: rs}
	} else {
		// PostgreSQL keeps codes and sessions beside the users, and the
		// webhook events in its outbox, in the reset's transaction.
		outbox = true
	}

	sink, err := webhook.NewHTTPSink(webhook.HTTPSinkConfig{
		Endpoints:   webhook.StaticEndpoints{o.tenant: {{URL: o.webhook, Secrets: webhook.Secrets{Standard: o.hookKey}}}},
		BaseBackoff: 50 * time.Millisecond,
		MaxBackoff:  time.Second,
		Logger:      logger,
		// The harness's receiver runs on this machine.
		AllowPrivateDestinations: true,
	})
	if err != nil {
		return err
	}
	var dispatched sync.WaitGroup
	dctx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
	if outbox {
		// Every instance runs a dispatcher: the outbox hands each event to
		// whichever polls first, and a redelivery carries the same id.
		d, err := webhook.NewDispatcher(webhook.DispatcherConfig{Outbox: users, Sink: sink, PollInterval: 200 * time.Millisecond, Logger: logger})
		if err != nil {
			stopDispatch()
			return err
		}
		dispatched.Add(1)
		go func() { defer dispatched.Done(); d.Run(dctx) }()
	}
	defer func() {
		stopDispatch()
		dispatched.Wait()
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sink.Close(closeCtx)
	}()

	h, err := newHandler(st, limitStore, sink, outbox, secret, o, logger, out)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(out, "listening on %s\n", ln.Addr())
	return httpserve.Until(ctx, srv, ln)
}

// newHandler is the otpreset configuration of an instance: one tenant whose
// limits are shared in Redis, per-IP limits off (every client of the
// harness is 127.0.0.1), no send padding (it would only slow the run).
func newHandler(st store.Store, limits limiterStore, sink webhook.Sink, outbox bool, secret []byte, o serveOptions, logger *slog.Logger, out io.Writer) (http.Handler, error) {
	tenant := &otpreset.Tenant{
		ID: o.tenant, AppName: "scaleout", Domain: "localhost",
		Limits:  harnessLimits,
		Pumping: otpreset.SMSPumping{PrefixDailyCap: "off"},
	}
	return otpreset.New(otpreset.Config{
		Store:           st,
		Sender:          &sms.LogSender{W: &lineWriter{w: out}},
		Tenants:         otpreset.Tenants{o.apiKey: tenant},
		Secret:          secret,
		Hasher:          password.NewArgon2idHasher(harnessArgon2, 0),
		Webhooks:        sink,
		WebhookOutbox:   outbox,
		Logger:          logger,
		RateLimitStore:  limits,
		MinSendDuration: -1,
	})
}

// harnessLimits are the tenant's limits in every run. Their windows outlast
// any run, so the checker can compare whole-run counts with them.
var harnessLimits = otpreset.Limits{
	SendPerPhone:    "3-1H",
	SendPerIP:       "off",
	SMSPerTenantDay: "off",
	ResetPerIP:      "off",
	LockoutAttempts: 5,
	LockoutWindow:   time.Hour,
}

// Limits the checker holds the run to; they mirror harnessLimits.
const (
	maxSMSPerPhone   = 3
	maxWrongPerPhone = 5
)

// lineWriter serialises writes so lines of concurrent senders never
// interleave on the pipe the harness reads.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// openRedis connects to redis://... (one server) or
// redis-cluster://host:port,host:port (a cluster), with the timeouts above.
func openRedis(spec string) (redis.UniversalClient, error) {
	if rest, ok := strings.CutPrefix(spec, "redis-cluster://"); ok {
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:       strings.Split(rest, ","),
			DialTimeout: redisDialTimeout, ReadTimeout: redisIOTimeout, WriteTimeout: redisIOTimeout,
			// go-redis keeps sending a crashed master's slots to it until it
			// reloads its view of the cluster, by default once a minute: a
			// replica promoted in seconds would go unused that long. One
			// CLUSTER SLOTS a second per client follows a failover at once.
			ClusterStateReloadInterval: clusterReload,
		}), nil
	}
	opt, err := redis.ParseURL(spec)
	if err != nil {
		return nil, fmt.Errorf("redis URL %q: %w", spec, err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = redisDialTimeout, redisIOTimeout, redisIOTimeout
	return redis.NewClient(opt), nil
}

// withConnectTimeout adds connect_timeout to a PostgreSQL URL unless set.
func withConnectTimeout(pgURL string) (string, error) {
	u, err := url.Parse(pgURL)
	if err != nil {
		return "", fmt.Errorf("postgres URL: %w", err)
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", fmt.Sprint(int(pgConnectTimeout/time.Second)))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// scanLines calls fn with every line of r until r ends.
func scanLines(r io.Reader, fn func(string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fn(sc.Text())
	}
}
