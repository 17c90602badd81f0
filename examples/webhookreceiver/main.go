// Command webhookreceiver is a minimal receiver of otpreset's webhooks. It
// verifies every delivery with signature.Verifier before reading it, and prints
// each event on standard output once.
//
//	WEBHOOK_SECRET=tenant-webhook-secret \
//	WEBHOOK_STANDARD_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw \
//	go run ./examples/webhookreceiver -addr :8090
//
// Set the secrets the sender's endpoint is configured with; each one set is
// required on every delivery.
//
// Replays are refused by what the signatures cover, never by an unsigned
// header: with only the LoginRadius "signature" in use, webhook-id and
// webhook-timestamp are not signed, and an attacker could replay a captured
// delivery under a new id. So:
//   - repeats are recognised by the payload's HookId, which every scheme signs
//     (a retry of one event carries the same body, HookId included);
//   - an event whose payload Time is older than -max-age (default 24 h,
//     longer than the sender's retries: about half an hour with HTTPSink's
//     defaults) or more than 5 minutes in the future is refused with 400, so a
//     HookId needs remembering only until its Time + max-age, which bounds
//     the memory;
//   - with WEBHOOK_STANDARD_SECRET set, signature.Verifier also refuses a
//     webhook-timestamp more than 5 minutes from now (its default Tolerance).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/otpreset/go/webhook/signature"
)

func main() {
	addr := flag.String("addr", ":8090", "listen address")
	maxAge := flag.Duration("max-age", defaultMaxAge, "refuse events whose payload Time is older than this; keep it above the sender's retry span")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	secrets := signature.Secrets{
		LoginRadius: os.Getenv("WEBHOOK_SECRET"),
		Standard:    os.Getenv("WEBHOOK_STANDARD_SECRET"),
	}
	if secrets.LoginRadius == "" && secrets.Standard == "" {
		log.Error("set WEBHOOK_SECRET and/or WEBHOOK_STANDARD_SECRET")
		os.Exit(2)
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           newReceiver(signature.Verifier{Secrets: secrets}, os.Stdout, log).withMaxAge(*maxAge),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("listening", "addr", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "error", err)
		os.Exit(1)
	}
}

const (
	maxBody = 1 << 20 // a ResetPassword payload is a few KiB
	// defaultMaxAge is how old an event's payload Time may be. It must
	// outlast the sender's retries, or a late but genuine retry is refused.
	defaultMaxAge = 24 * time.Hour
	// maxSkew is how far in the future an event's Time may be (the
	// sender's clock may run a little ahead of ours).
	maxSkew = 5 * time.Minute
)

// receiver is the webhook endpoint.
type receiver struct {
	verifier signature.Verifier
	out      io.Writer
	log      *slog.Logger
	maxAge   time.Duration
	clock    interface{ Now() time.Time }

	mu sync.Mutex
	// seen maps the HookId of each event acted on to the time after which
	// the event's own Time makes it stale, so it can be forgotten: a
	// replay after that is refused by age, not by memory.
	seen      map[string]time.Time
	nextSweep int // len(seen) at which expired entries are next dropped
}

// newReceiver returns the endpoint; it tells time with v.Clock (the system
// clock when nil), as the verifier does.
func newReceiver(v signature.Verifier, out io.Writer, log *slog.Logger) *receiver {
	var clock interface{ Now() time.Time } = systemClock{}
	if v.Clock != nil {
		clock = v.Clock
	}
	return &receiver{verifier: v, out: out, log: log, maxAge: defaultMaxAge, clock: clock, seen: map[string]time.Time{}, nextSweep: minSweep}
}

// withMaxAge sets how old an event may be (non-positive: defaultMaxAge).
func (rc *receiver) withMaxAge(d time.Duration) *receiver {
	if d > 0 {
		rc.maxAge = d
	}
	return rc
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// minSweep is the size of seen below which expired entries are not swept.
const minSweep = 1024

// event is the LoginRadius webhook payload.
type event struct {
	HookName string          `json:"HookName"`
	Time     string          `json:"Time"`
	HookId   string          `json:"HookId"`
	Data     json.RawMessage `json:"Data"`
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Verify the raw bytes: decoding and re-encoding JSON would change them.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if err := rc.verifier.Verify(r.Header, body); err != nil {
		rc.log.Warn("webhook refused", "error", err)
		http.Error(w, "signature not valid", http.StatusUnauthorized)
		return
	}
	var e event
	if err := json.Unmarshal(body, &e); err != nil || e.HookId == "" {
		http.Error(w, "not an otpreset event", http.StatusBadRequest)
		return
	}
	at, err := time.Parse(time.RFC3339, e.Time)
	if err != nil {
		http.Error(w, "not an otpreset event", http.StatusBadRequest)
		return
	}
	// Only signed data decides from here on: HookId and Time are in the
	// verified body, whichever scheme signed it.
	id := e.HookId
	now := rc.clock.Now()
	if age := now.Sub(at); age > rc.maxAge || age < -maxSkew {
		// 400 rather than 401: the delivery is authentic, and a 4xx tells
		// the sender that retrying will not help.
		rc.log.Warn("webhook refused: event time out of range", "hook_id", id, "age", age.Round(time.Second))
		http.Error(w, "event time out of range", http.StatusBadRequest)
		return
	}
	if !rc.first(id, at.Add(rc.maxAge), now) {
		// Delivery is at least once: acknowledge a repeat so the sender
		// stops, but act on each event only once.
		fmt.Fprintf(rc.out, "duplicate %s ignored\n", id)
		w.WriteHeader(http.StatusOK)
		return
	}
	var profile struct{ Uid, PhoneId string }
	_ = json.Unmarshal(e.Data, &profile)
	fmt.Fprintf(rc.out, "%s %s at %s: user %s, phone %s\n", e.HookName, id, e.Time, profile.Uid, maskPhone(profile.PhoneId))
	w.WriteHeader(http.StatusNoContent)
}

// first records id, remembered until expires, and reports whether it was
// new. Only authentic, fresh events get here, so the map holds at most the
// events of one max-age window; expired entries are swept whenever the map
// has doubled since the last sweep, which keeps each insert O(1) amortised.
func (rc *receiver) first(id string, expires, now time.Time) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if _, ok := rc.seen[id]; ok {
		// Kept even if expired: the age check refuses it before it gets
		// here once its Time is stale.
		return false
	}
	if len(rc.seen) >= rc.nextSweep {
		for k, exp := range rc.seen {
			if now.After(exp) {
				delete(rc.seen, k)
			}
		}
		rc.nextSweep = max(minSweep, 2*len(rc.seen))
	}
	rc.seen[id] = expires
	return true
}

// maskPhone keeps a phone number's country prefix and last four digits:
// +919999999999 becomes +91******9999.
func maskPhone(p string) string {
	if len(p) < 8 {
		return "****"
	}
	return p[:3] + "******" + p[len(p)-4:]
}
