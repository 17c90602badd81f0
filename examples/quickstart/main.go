// Command quickstart runs otpreset on loopback with an in-memory store (or
// the SQLite, PostgreSQL, Redis or Redis Cluster store -store names) and a
// development SMS sender that prints every message, code included. It also
// serves LoginRadius's phone login (POST /identity/v2/auth/login) as example
// host code, so you can see the new password work and the old one fail;
// LoginRadius's own SDKs drive both (sdk_test.go runs its Node.js SDK).
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/otpreset/go/examples/webpage"
	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/sms/twilio"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/postgres"
	"github.com/otpreset/go/store/redisstore"
	"github.com/otpreset/go/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := exitCode(run(ctx, os.Args[1:], os.Stdout, nil), os.Stderr)
	stop()
	os.Exit(code)
}

// exitCode maps run's result to the exit status: 0 when the server ended
// normally or -h printed the usage (asked for, so not a failure); 2 with the
// error on stderr when the command line is wrong on its face (a usageError,
// found before anything is read or connected, as the flag package's own exit
// status 2); else 1 with the error on stderr.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "quickstart:", err)
	var usage usageError
	if errors.As(err, &usage) {
		return 2
	}
	return 1
}

// usageError is a command line that cannot work whatever the environment: an
// unknown flag, a stray argument, a flag value that is refused.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// usagef is a usageError made like fmt.Errorf (so %w wraps).
func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// options are the command's flags.
type options struct {
	addr, apiKey, phone, password string
	// store is "memory", "sqlite:PATH", "postgres://...", "redis://..." or
	// "redis-cluster://host:port,..."; see parseStore.
	store string
	// secret is the code secret in hex (else $OTPRESET_SECRET); see loadSecret.
	secret string
	// Twilio: flags override the TWILIO_* environment.
	twilioAccount, twilioToken, twilioFrom, twilioService string
}

// run starts the server and blocks until ctx ends. When ready is not nil it
// receives the listening address (tests use it).
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	// The flag package would print a parse error and the whole usage to one
	// writer; usage asked for with -h goes to out (stdout), a parse error
	// goes back to the caller (stderr) with a hint instead.
	fs.SetOutput(io.Discard)
	var o options
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&o.apiKey, "apikey", "demo-api-key", "the demo tenant's API key")
	fs.StringVar(&o.phone, "phone", "+919999999999", "the demo user's phone number")
	fs.StringVar(&o.password, "password", "OldP@ssw0rd1", "the demo user's starting password")
	fs.StringVar(&o.store, "store", "memory", storeKinds)
	fs.StringVar(&o.secret, "secret", "", "code secret, at least 32 bytes in hex (else $"+secretEnv+"; "+generateHint+"); unset: random with memory, kept in PATH.secret with sqlite:PATH, required with postgres and redis")
	fs.StringVar(&o.twilioAccount, "twilio-account-sid", "", "Twilio account SID (else $TWILIO_ACCOUNT_SID); unset: print messages instead of sending")
	fs.StringVar(&o.twilioToken, "twilio-auth-token", "", "Twilio auth token (else $TWILIO_AUTH_TOKEN)")
	fs.StringVar(&o.twilioFrom, "twilio-from", "", "Twilio sender number (else $TWILIO_FROM)")
	fs.StringVar(&o.twilioService, "twilio-messaging-service-sid", "", "Twilio messaging service SID (else $TWILIO_MESSAGING_SERVICE_SID)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(out)
			fs.Usage()
			return err
		}
		return usagef("%w (-h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (-h lists the flags)", fs.Arg(0))
	}
	// Every flag that can be judged on its own is judged here, before a
	// secret is asked for or a store is reached.
	spec, err := parseStore(o.store)
	if err != nil {
		return err
	}
	if strings.TrimSpace(o.apiKey) == "" {
		return usagef("-apikey is empty: give the demo tenant's API key, e.g. -apikey demo-api-key")
	}
	phone, err := otpreset.NormalizePhone(o.phone)
	if err != nil {
		return usagef("-phone %q: %w", o.phone, err)
	}
	tenant := &otpreset.Tenant{ID: "demo", AppName: "otpreset demo", Domain: "localhost"}
	// The demo user's password meets the policy every reset is held to (the
	// tenant's, here the library's default), and is stored in the form a
	// reset would store it (NFKC).
	startPassword, err := tenant.Password.Check(o.password, phone)
	if err != nil {
		return usagef("-password: %w", err)
	}
	sender, err := newSender(o, os.Getenv, out)
	if err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(out, nil))
	hasher := password.NewArgon2idHasher(nil, 0)
	// The secret comes before the store, so a shared store without one is
	// refused before anything connects to it.
	secret, err := loadSecret(o.secret, os.Getenv, o.store, out)
	if err != nil {
		return err
	}
	st, closeStore, err := openStore(ctx, spec, out)
	if err != nil {
		return err
	}
	defer closeStore()
	created, err := seedUser(ctx, st, hasher, tenant.ID, phone, startPassword)
	if err != nil {
		return err
	}
	h, err := otpreset.New(otpreset.Config{
		Store:   st,
		Sender:  sender,
		Tenants: otpreset.Tenants{o.apiKey: tenant},
		Secret:  secret,
		Hasher:  hasher,
		Logger:  logger,
	})
	if err != nil {
		return err
	}
	login, err := newLoginHandler(ctx, st, hasher, otpreset.Tenants{o.apiKey: tenant})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle(otpreset.Path, h)
	mux.Handle("/", webpage.Handler(webpage.Config{APIKey: o.apiKey}))
	mux.Handle("/identity/v2/auth/login", login)

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	// The password is printed only when this start set it: a durable store
	// keeps the user of an earlier run, whose password may have been reset
	// since, and printing -password then would show one that does not work.
	shown := o.password
	if !created {
		shown = keptPassword
	}
	fmt.Fprintf(out, "otpreset quickstart on http://%s\n  apikey:   %s\n  phone:    %s\n  password: %s\n", ln.Addr(), o.apiKey, phone, shown)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// demoStore is a store the demo can seed its user into.
type demoStore interface {
	store.Store
	AddUser(ctx context.Context, u store.User) error
}

// composite adds AddUser to a store.Composite whose users are in memory.
type composite struct {
	store.Composite
	users *memstore.Store
}

func (c composite) AddUser(ctx context.Context, u store.User) error { return c.users.AddUser(ctx, u) }

// storeKinds is what -store accepts, as the usage and its errors say it.
const storeKinds = "memory | sqlite:PATH (survives a restart) | postgres://... | redis://... or rediss://... | redis-cluster://host:port,host:port (codes and sessions in Redis, users in memory)"

// The kinds of store -store offers; parseStore gives one of these.
const (
	kindMemory       = "memory"
	kindSQLite       = "sqlite"
	kindPostgres     = "postgres"
	kindRedis        = "redis"
	kindRedisCluster = "redis-cluster"
)

// allStoreKinds lists every kind parseStore gives (tests serve on each).
var allStoreKinds = []string{kindMemory, kindSQLite, kindPostgres, kindRedis, kindRedisCluster}

// storeSpec is a parsed -store value.
type storeSpec struct {
	kind string // one of allStoreKinds
	// arg is the database path (sqlite), the URL (postgres, redis) or the
	// comma-separated nodes (redis-cluster).
	arg string
}

// parseStore reads a -store value without reaching anything, so that a
// mistyped one is named, with the kinds that are offered, before the
// quickstart asks for a secret or connects.
func parseStore(spec string) (storeSpec, error) {
	switch {
	case spec == "" || spec == "memory":
		return storeSpec{kind: kindMemory}, nil
	case strings.HasPrefix(spec, "sqlite:"):
		path := strings.TrimPrefix(spec, "sqlite:")
		if path == "" {
			return storeSpec{}, usagef("-store sqlite: needs the database's file path, e.g. sqlite:otpreset.db")
		}
		return storeSpec{kind: kindSQLite, arg: path}, nil
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		return storeSpec{kind: kindPostgres, arg: spec}, nil
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"):
		return storeSpec{kind: kindRedis, arg: spec}, nil
	case strings.HasPrefix(spec, "redis-cluster://"):
		addrs := strings.TrimPrefix(spec, "redis-cluster://")
		if addrs == "" {
			return storeSpec{}, usagef("-store redis-cluster:// needs some of the cluster's nodes, e.g. redis-cluster://127.0.0.1:7000,127.0.0.1:7001")
		}
		return storeSpec{kind: kindRedisCluster, arg: addrs}, nil
	default:
		return storeSpec{}, usagef("-store %q is not a store the quickstart offers; want one of: %s", redactURL(spec), storeKinds)
	}
}

// openStore opens the store spec names. SQL schemas are migrated here,
// on request: the quickstart asks for it, a library never does it silently.
func openStore(ctx context.Context, spec storeSpec, out io.Writer) (demoStore, func(), error) {
	nop := func() {}
	switch spec.kind {
	case kindMemory:
		return memstore.New(), nop, nil
	case kindSQLite:
		db, err := sqlite.Open(spec.arg)
		if err != nil {
			return nil, nop, fmt.Errorf("-store sqlite:%s: %w", spec.arg, err)
		}
		s := sqlite.New(db, sqlite.Config{})
		if err := s.Migrate(ctx); err != nil {
			_ = db.Close()
			return nil, nop, fmt.Errorf("-store sqlite:%s: %w", spec.arg, err)
		}
		fmt.Fprintln(out, "store: SQLite at", spec.arg)
		return s, func() { _ = db.Close() }, nil
	case kindPostgres:
		s, err := postgres.Open(ctx, spec.arg, postgres.Config{})
		if err != nil {
			return nil, nop, fmt.Errorf("-store %s: %w", redactURL(spec.arg), err)
		}
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, nop, fmt.Errorf("-store %s: %w", redactURL(spec.arg), err)
		}
		fmt.Fprintln(out, "store: PostgreSQL")
		return s, s.Close, nil
	case kindRedis, kindRedisCluster:
		var client redis.UniversalClient
		if spec.kind == kindRedisCluster {
			// A Redis Cluster: some of its nodes, comma separated. Its
			// slot map is reloaded every second, so a replica promoted
			// after a master crash is used at once (go-redis's default
			// waits up to a minute).
			client = redis.NewClusterClient(&redis.ClusterOptions{
				Addrs:                      strings.Split(spec.arg, ","),
				ClusterStateReloadInterval: time.Second,
			})
		} else {
			opt, err := redis.ParseURL(spec.arg)
			if err != nil {
				return nil, nop, fmt.Errorf("-store %s: %w", redactURL(spec.arg), err)
			}
			client = redis.NewClient(opt)
		}
		name := redactURL(spec.arg)
		if spec.kind == kindRedisCluster {
			name = "redis-cluster://" + spec.arg
		}
		// go-redis connects lazily: without this ping an unreachable server
		// would surface as a 500 on the first request instead of at start-up.
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := client.Ping(pingCtx).Err()
		cancel()
		if err != nil {
			_ = client.Close()
			return nil, nop, fmt.Errorf("-store %s: cannot reach Redis: %w", name, err)
		}
		rs, err := redisstore.New(client, redisstore.Config{})
		if err != nil {
			_ = client.Close()
			return nil, nop, err
		}
		users := memstore.New()
		fmt.Fprintln(out, "store: codes and sessions in Redis, users in memory")
		return composite{Composite: store.Composite{Users: users, Challenges: rs, Sessions: rs}, users: users}, func() { _ = client.Close() }, nil
	default:
		return nil, nop, fmt.Errorf("store kind %q: not handled (a parseStore case without an openStore case)", spec.kind)
	}
}

// keptPassword is what the banner shows for a demo user kept from an
// earlier run instead of -password, which applies only to a new user.
const keptPassword = "(kept from an earlier run: -password sets it only when the demo user is created)"

// seedUser creates the demo user with the (already normalised) password pw
// unless the store already holds one, from an earlier run of a durable
// store; created says which.
func seedUser(ctx context.Context, st demoStore, hasher otpreset.PasswordHasher, tenantID, phone, pw string) (created bool, err error) {
	_, err = st.UserByPhone(ctx, tenantID, phone)
	if err == nil {
		return false, nil // kept from an earlier run (durable stores)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("look up the demo user: %w", err)
	}
	hash, err := hasher.Hash(ctx, pw)
	if err != nil {
		return false, err
	}
	profile := fmt.Sprintf(`{"Uid":"demo-user","ID":"demo-user","FirstName":"Demo","LastName":"User","PhoneId":%q,"PhoneIdVerified":true,"IsActive":true}`, phone)
	if err := st.AddUser(ctx, store.User{TenantID: tenantID, ID: "demo-user", Phone: phone, PasswordHash: hash, Profile: []byte(profile)}); err != nil {
		return false, fmt.Errorf("add the demo user: %w", err)
	}
	return true, nil
}

// newSender is Twilio when credentials are given (flags or environment) and
// otherwise the development sender that prints each message.
func newSender(o options, getenv func(string) string, out io.Writer) (sms.Sender, error) {
	cfg := twilio.ConfigFromEnv(getenv)
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&cfg.AccountSid, o.twilioAccount}, {&cfg.AuthToken, o.twilioToken},
		{&cfg.Default.From, o.twilioFrom}, {&cfg.Default.MessagingServiceSid, o.twilioService},
	} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	if cfg.AccountSid == "" {
		return &sms.LogSender{W: out}, nil
	}
	tw, err := twilio.New(cfg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "sending codes with Twilio")
	return &sms.Retry{Sender: tw}, nil
}
