package webhook

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkHTTPSink measures end-to-end deliveries per second to a local
// receiver that answers 204 at once (signing, queueing, HTTP round trip).
func BenchmarkHTTPSink(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s, err := NewHTTPSink(HTTPSinkConfig{
		Endpoints: StaticEndpoints{"tenant-1": {{URL: srv.URL, Secrets: testSecrets}}},
		QueueSize: b.N + 1,
		Logger:    slog.New(slog.DiscardHandler),
		// The receiver is on 127.0.0.1.
		AllowPrivateDestinations: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	e := testEvent(evID(1))
	b.ResetTimer()
	for range b.N {
		if err := s.Emit(context.Background(), e); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		b.Fatal(err)
	}
	if got := s.Stats().Delivered; got != uint64(b.N) {
		b.Fatalf("delivered %d of %d", got, b.N)
	}
}

// BenchmarkEmit measures the cost Emit adds to a reset: render the payload,
// look up and validate the endpoints, queue. The endpoint refuses
// connections, so the single worker's attempts fail fast and wait out their
// backoff without competing for the CPU.
func BenchmarkEmit(b *testing.B) {
	s, err := NewHTTPSink(HTTPSinkConfig{
		Endpoints: StaticEndpoints{"tenant-1": {{URL: "http://127.0.0.1:1/", Secrets: testSecrets}}},
		QueueSize: b.N + 1,
		Workers:   1,
		Logger:    slog.New(slog.DiscardHandler),
		// 127.0.0.1:1 refuses connections, which are retried; a destination
		// refused as private would not be.
		AllowPrivateDestinations: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	e := testEvent(evID(1))
	b.ResetTimer()
	for range b.N {
		if err := s.Emit(context.Background(), e); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.Close(ctx)
}
