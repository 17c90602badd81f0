package otpreset_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/sqlite"
	"github.com/otpreset/go/webhook"
)

// receiver records verified deliveries by webhook-id.
type receiver struct {
	mu     sync.Mutex
	byID   map[string]int
	bodies [][]byte
}

func (rc *receiver) handler(t *testing.T, secrets webhook.Secrets) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(r.Header, body, secrets); err != nil {
			t.Errorf("delivery does not verify: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.byID[r.Header.Get("webhook-id")]++
		rc.bodies = append(rc.bodies, body)
	})
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.byID)
}

// With the outbox, the event is written in the reset's transaction. The
// process "crashes" before any dispatcher ran: a new handler and dispatcher on
// the same database still deliver every event, signed, with LoginRadius's
// payload.
func TestOutboxSurvivesACrash(t *testing.T) {
	secrets := webhook.Secrets{LoginRadius: "lr-secret", Standard: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="}
	rc := &receiver{byID: map[string]int{}}
	srv := httptest.NewServer(rc.handler(t, secrets))
	defer srv.Close()
	dbPath := filepath.Join(t.TempDir(), "otpreset.db")
	ctx := context.Background()

	// Process 1: three resets, then it dies with nothing delivered.
	var tenantID string
	func() {
		db, err := sqlite.Open(dbPath)
		require.NoError(t, err)
		defer db.Close()
		st := sqlite.New(db, sqlite.Config{})
		require.NoError(t, st.Migrate(ctx))
		env := otpresettest.New(t, func(c *otpreset.Config, _ *otpreset.Tenant) {
			c.Store = st
			c.WebhookOutbox = true
		})
		tenantID = env.Tenant.ID
		for i, p := range []string{"+919999999991", "+919999999992", "+919999999993"} {
			hash, err := env.Hasher.Hash(ctx, oldPass)
			require.NoError(t, err)
			require.NoError(t, st.AddUser(ctx, store.User{TenantID: tenantID, ID: "u" + string(rune('1'+i)), Phone: p, PasswordHash: hash, Profile: []byte(`{"Uid":"u"}`)}))
			env.Send(p)
			require.Equal(t, 200, env.Reset(p, env.Code(p), newPass).Code)
		}
		assert.Empty(t, env.Webhooks.Events(), "with the outbox, events go to the store, not the sink")
	}()

	// Process 2: a new store handle, sink and dispatcher on the same file.
	db, err := sqlite.Open(dbPath)
	require.NoError(t, err)
	defer db.Close()
	st := sqlite.New(db, sqlite.Config{})
	sink, err := webhook.NewHTTPSink(webhook.HTTPSinkConfig{Endpoints: webhook.StaticEndpoints{tenantID: {{URL: srv.URL, Secrets: secrets}}},
		AllowPrivateDestinations: true}) // the receiver is on 127.0.0.1
	require.NoError(t, err)
	d, err := webhook.NewDispatcher(webhook.DispatcherConfig{Outbox: st, Sink: sink, PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(runCtx) }()
	require.Eventually(t, func() bool {
		pending, err := st.PendingOutbox(ctx, 10)
		return err == nil && len(pending) == 0 && rc.count() == 3
	}, 10*time.Second, 10*time.Millisecond)
	cancel()
	<-done
	require.NoError(t, sink.Close(ctx))

	var payload struct {
		HookName, Time, HookId string
		Data                   otpreset.Profile
	}
	require.NoError(t, json.Unmarshal(rc.bodies[0], &payload))
	assert.Equal(t, "resetpassword", payload.HookName)
	assert.NotEmpty(t, payload.HookId)
	assert.Equal(t, otpreset.MaskedPassword, payload.Data.Password)
	_, err = time.Parse(time.RFC3339, payload.Time)
	assert.NoError(t, err)
}

// Without the outbox, the handler hands the event to an HTTPSink; the reset
// answer does not wait for the receiver, which is down at first.
func TestResetDoesNotWaitForTheWebhook(t *testing.T) {
	secrets := webhook.Secrets{LoginRadius: "lr-secret"}
	rc := &receiver{byID: map[string]int{}}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // a receiver that hangs until the test lets it go
		rc.handler(t, secrets).ServeHTTP(w, r)
	}))
	defer srv.Close()
	var sink *webhook.HTTPSink
	env := otpresettest.New(t, func(c *otpreset.Config, tn *otpreset.Tenant) {
		var err error
		sink, err = webhook.NewHTTPSink(webhook.HTTPSinkConfig{Endpoints: webhook.StaticEndpoints{tn.ID: {{URL: srv.URL, Secrets: secrets}}},
			AllowPrivateDestinations: true}) // the receiver is on 127.0.0.1
		require.NoError(t, err)
		c.Webhooks = sink
	})
	env.AddUser(phone, oldPass)
	env.Send(phone)
	require.Equal(t, 200, env.Reset(phone, env.Code(phone), newPass).Code, "answered while the receiver hangs")
	close(release)
	require.NoError(t, sink.Close(context.Background()))
	assert.Equal(t, 1, rc.count())
}
