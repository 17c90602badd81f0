// Command webhookreceiver is a minimal receiver of otpreset's webhooks. It
// verifies every delivery with webhook.Verify before reading it, ignores
// repeated deliveries of one event (by webhook-id, or HookId without the
// Standard Webhooks headers), and prints each event on standard output.
//
//	WEBHOOK_SECRET=tenant-webhook-secret \
//	WEBHOOK_STANDARD_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw \
//	go run ./examples/webhookreceiver -addr :8090
//
// Set the secrets the sender's endpoint is configured with; each one set is
// required on every delivery.
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

	"github.com/otpreset/go/webhook"
)

func main() {
	addr := flag.String("addr", ":8090", "listen address")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	secrets := webhook.Secrets{
		LoginRadius: os.Getenv("WEBHOOK_SECRET"),
		Standard:    os.Getenv("WEBHOOK_STANDARD_SECRET"),
	}
	if secrets.LoginRadius == "" && secrets.Standard == "" {
		log.Error("set WEBHOOK_SECRET and/or WEBHOOK_STANDARD_SECRET")
		os.Exit(2)
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           newReceiver(webhook.Verifier{Secrets: secrets}, os.Stdout, log),
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
	maxBody  = 1 << 20        // a ResetPassword payload is a few KiB
	dedupTTL = 24 * time.Hour // how long a delivered id is remembered
)

// receiver is the webhook endpoint.
type receiver struct {
	verifier webhook.Verifier
	out      io.Writer
	log      *slog.Logger

	mu   sync.Mutex
	seen map[string]time.Time // event id -> when first received
}

func newReceiver(v webhook.Verifier, out io.Writer, log *slog.Logger) *receiver {
	return &receiver{verifier: v, out: out, log: log, seen: map[string]time.Time{}}
}

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
	id := r.Header.Get(webhook.HeaderID)
	if id == "" {
		id = e.HookId
	}
	if !rc.first(id) {
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

// first records id and reports whether it was new. Ids older than dedupTTL
// are forgotten, which bounds the map.
func (rc *receiver) first(id string) bool {
	now := time.Now()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if at, ok := rc.seen[id]; ok && now.Sub(at) < dedupTTL {
		return false
	}
	if len(rc.seen) >= 1024 {
		for k, at := range rc.seen {
			if now.Sub(at) >= dedupTTL {
				delete(rc.seen, k)
			}
		}
	}
	rc.seen[id] = now
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
