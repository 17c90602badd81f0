package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/webhook"
)

// An HTTPSink delivers each event to the tenant's endpoints; Close drains
// the queue at shutdown.
func ExampleHTTPSink() {
	secrets := webhook.Secrets{Standard: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := webhook.Verify(r.Header, body, secrets); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p struct{ HookName, HookId string }
		_ = json.Unmarshal(body, &p)
		fmt.Println("received", p.HookName, p.HookId)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	sink, err := webhook.NewHTTPSink(webhook.HTTPSinkConfig{
		Endpoints: webhook.StaticEndpoints{
			"tenant-1": {{URL: receiver.URL + "/webhooks/otpreset", Secrets: secrets}},
		},
		OnDeadLetter: func(dl webhook.DeadLetter) { fmt.Println("gave up on", dl.EventID, dl.Err) },
		Logger:       slog.New(slog.DiscardHandler),
		// This receiver runs on 127.0.0.1; by default the sink delivers
		// to public addresses only.
		AllowPrivateDestinations: true,
	})
	if err != nil {
		panic(err)
	}
	err = sink.Emit(context.Background(), webhook.Event{
		ID:       "3f2b8c1e-6a47-4d0b-9a51-2f1e0c7d9b10",
		TenantID: "tenant-1",
		Name:     webhook.HookResetPassword,
		Time:     time.Now(),
		Data:     json.RawMessage(`{"Uid":"u-1"}`),
	})
	if err != nil {
		fmt.Println("not queued:", err) // otpreset logs this and still answers the reset
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sink.Close(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", sink.Stats())
	// Output:
	// received resetpassword 3f2b8c1e-6a47-4d0b-9a51-2f1e0c7d9b10
	// {Accepted:1 Delivered:1 Retried:0 Failed:0 Dropped:0 Rejected:0}
}

// A Dispatcher delivers what the store's outbox holds, through a sink, until
// shutdown. (Not run: it needs a store that implements store.Outbox.)
func ExampleDispatcher() {
	var outbox store.Outbox // e.g. the host's SQL store
	sink, err := webhook.NewHTTPSink(webhook.HTTPSinkConfig{
		Endpoints: webhook.StaticEndpoints{
			"tenant-1": {{URL: "https://hooks.example.com/otpreset", Secrets: webhook.Secrets{LoginRadius: "tenant-webhook-secret"}}},
		},
	})
	if err != nil {
		panic(err)
	}
	d, err := webhook.NewDispatcher(webhook.DispatcherConfig{Outbox: outbox, Sink: sink})
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	// ... serve until shutdown, then:
	stop()
	<-done
	drain, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = sink.Close(drain) // what is not delivered stays pending in the outbox
}
