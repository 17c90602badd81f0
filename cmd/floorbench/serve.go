package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpreset/go/internal/httpserve"
	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store/postgres"
)

// The server processes are this binary run again with serveEnv set to
// serveOtpreset or serveFloor, so that the load generator's CPU (its own
// getrusage) is apart from theirs. The child's settings come in the
// environment too; it prints "listening on ADDR" and serves until its
// stdin closes (the parent exited or let it go).
const (
	serveEnv      = "FLOORBENCH_SERVE"
	serveURLEnv   = "FLOORBENCH_PG_URL"
	serveLimitEnv = "FLOORBENCH_LIMITS"
	// serveAnswerEnv holds, for the floor, the answers it writes: the
	// JSON of a floorAnswers.
	serveAnswerEnv = "FLOORBENCH_ANSWERS"
	// serveProfileEnv, when set, is the prefix of the path the server
	// writes its CPU profile to (PREFIX.MODE), from start to exit.
	serveProfileEnv = "FLOORBENCH_CPUPROFILE"

	serveOtpreset = "otpreset"
	serveFloor    = "floor"
)

const (
	apiKey   = "floorbench-api-key"
	tenantID = "floorbench"
	oldPass  = "old password 1"
	newPass  = "StrongP@ssw0rd!"
	// floorTable holds the floor's per-phone counter rows.
	floorTable = "floorbench_counters"
)

// seedParams are the argon2id parameters of the users' seed hash: cheap,
// since no request of the run hashes (wrong codes and sends never do).
var seedParams = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// childMain is a server process's main: it serves mode on a loopback port
// until stdin closes, and returns the exit code.
func childMain(mode string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // the parent holds our stdin: when it goes, so do we
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	var (
		h       http.Handler
		cleanup func()
		err     error
	)
	switch mode {
	case serveOtpreset:
		h, cleanup, err = otpresetServer(ctx, os.Getenv(serveURLEnv), os.Getenv(serveLimitEnv))
	case serveFloor:
		var a floorAnswers
		if err = json.Unmarshal([]byte(os.Getenv(serveAnswerEnv)), &a); err == nil {
			h, cleanup, err = floorServer(ctx, os.Getenv(serveURLEnv), a)
		}
	default:
		err = fmt.Errorf("unknown server %q", mode)
	}
	if err != nil {
		fmt.Fprintf(stderr, "floorbench %s server: %v\n", mode, err)
		return 1
	}
	defer cleanup()
	if prefix := os.Getenv(serveProfileEnv); prefix != "" {
		f, err := os.Create(prefix + "." + mode)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "floorbench %s server: cpu profile: %v\n", mode, err)
			return 1
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	if err := listenAndServe(ctx, h, stdout); err != nil {
		fmt.Fprintf(stderr, "floorbench %s server: %v\n", mode, err)
		return 1
	}
	return 0
}

// listenAndServe serves h on a loopback port the system picks until ctx
// ends, after printing "listening on ADDR".
func listenAndServe(ctx context.Context, h http.Handler, stdout io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	return httpserve.Until(ctx, srv, ln)
}

// discardSender sends nothing and answers like a provider.
type discardSender struct{}

func (discardSender) Send(_ context.Context, m sms.Message) (sms.Receipt, error) {
	return sms.Receipt{AccountSid: "AC00000000000000000000000000000000", Sid: sms.NewSid(sms.SidPrefix(m.Voice), nil)}, nil
}

// tenant is the run's one tenant. limits "off" turns every rate limit off
// and puts the lockouts out of reach, so that every wrong code is answered
// 401 and counted in the guessing budget all run long; "default" keeps the
// tenant defaults, under which phones and networks run into their limits.
// Codes live an hour, so the codes sent before the run stay live through it.
func tenant(limits string) (*otpreset.Tenant, error) {
	t := &otpreset.Tenant{ID: tenantID, AppName: "floorbench", CodeTTL: time.Hour}
	switch limits {
	case "off":
		otpresettest.Unlimit(t)
	case "default":
	default:
		return nil, fmt.Errorf("-limits %q: want off or default", limits)
	}
	return t, nil
}

// otpresetServer is otpreset on store/postgres at pgURL, behind a loopback
// proxy that sets X-Forwarded-For (the load generator names the client
// network there).
func otpresetServer(ctx context.Context, pgURL, limits string) (http.Handler, func(), error) {
	t, err := tenant(limits)
	if err != nil {
		return nil, nil, err
	}
	st, err := postgres.Open(ctx, pgURL, postgres.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, err
	}
	clientIP, err := otpreset.TrustedProxies("X-Forwarded-For", "127.0.0.0/8")
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	h, err := otpreset.New(otpreset.Config{
		Store:           st,
		Sender:          discardSender{},
		Tenants:         otpreset.Tenants{apiKey: t},
		Secret:          secret,
		Hasher:          password.NewArgon2idHasher(seedParams, 0),
		Logger:          slog.New(slog.DiscardHandler),
		ClientIP:        clientIP,
		MinSendDuration: -1,
	})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return h, st.Close, nil
}

// floorAnswers are the bytes the floor writes: otpreset's own answers to a
// wrong code and to a send, recorded by the load generator before the run.
type floorAnswers struct {
	WrongStatus int    `json:"wrong_status"`
	WrongBody   []byte `json:"wrong_body"`
	SendStatus  int    `json:"send_status"`
	SendBody    []byte `json:"send_body"`
}

// floorServer is the floor: a bare net/http + pgx handler that decodes the
// same JSON body, makes one write (an UPDATE of the phone's counter row)
// and writes the same answer otpreset gives. Nothing can answer a wrong
// code for less and still keep a count of it that survives a restart.
func floorServer(ctx context.Context, pgURL string, a floorAnswers) (http.Handler, func(), error) {
	pool, err := pgxpool.New(ctx, pgURL)
	if err != nil {
		return nil, nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, nil, err
	}
	const update = `UPDATE ` + floorTable + ` SET n = n + 1 WHERE phone = $1`
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Phone    string `json:"phone"`
			OTP      string `json:"otp"`
			Password string `json:"password"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := pool.Exec(r.Context(), update, body.Phone); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		status, answer := a.SendStatus, a.SendBody
		if r.Method == http.MethodPut {
			status, answer = a.WrongStatus, a.WrongBody
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(answer)
	})
	return h, pool.Close, nil
}

// encodeAnswers is a floorAnswers for serveAnswerEnv.
func encodeAnswers(a floorAnswers) string {
	b, _ := json.Marshal(a)
	return string(b)
}

// randomName is a fresh name for the run's schema.
func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// trimBody is a body as printed in errors.
func trimBody(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		b = append(b[:200:200], "..."...)
	}
	return string(b)
}
