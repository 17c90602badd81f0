package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/webhook"
)

// A receiver checks every delivery against its raw body before decoding it.
// stoppedAt is a clock that tells one instant: any value with a Now method
// can be a Verifier's Clock.
type stoppedAt time.Time

func (c stoppedAt) Now() time.Time { return time.Time(c) }

func ExampleVerify() {
	secrets := webhook.Secrets{
		LoginRadius: "tenant-webhook-secret",
		Standard:    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	}
	body := []byte(`{"HookName":"resetpassword","Time":"2026-05-01T12:00:00Z","HookId":"3f2b8c1e-6a47-4d0b-9a51-2f1e0c7d9b10","Data":{"Uid":"u-1"}}`)
	sent := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	// What HTTPSink sets on the request:
	if err := webhook.SignHeaders(h, secrets, "3f2b8c1e-6a47-4d0b-9a51-2f1e0c7d9b10", sent, body); err != nil {
		panic(err)
	}

	// In the receiver (Clock is fixed here to keep the example's output
	// stable; a receiver leaves it nil, or calls webhook.Verify).
	v := webhook.Verifier{Secrets: secrets, Clock: stoppedAt(sent.Add(10 * time.Second))}
	fmt.Println("genuine:", v.Verify(h, body))

	tampered := []byte(strings.Replace(string(body), "u-1", "u-2", 1))
	fmt.Println("tampered:", errors.Is(v.Verify(h, tampered), webhook.ErrInvalidSignature))

	wrongKey := webhook.Verifier{Secrets: webhook.Secrets{LoginRadius: "guess"}}
	fmt.Println("wrong secret:", errors.Is(wrongKey.Verify(h, body), webhook.ErrInvalidSignature))

	replay := webhook.Verifier{Secrets: secrets, Clock: stoppedAt(sent.Add(time.Hour))}
	fmt.Println("replayed an hour later:", errors.Is(replay.Verify(h, body), webhook.ErrTimestampOutOfTolerance))
	// Output:
	// genuine: <nil>
	// tampered: true
	// wrong secret: true
	// replayed an hour later: true
}

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
