package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/webhook/signature"
)

// newTestSink returns a sink delivering tenant-1's events to urls, with a
// fake clock, a fixed random source, and dead letters collected. mod may
// change the config before the sink starts. The sink is closed at cleanup.
func newTestSink(t *testing.T, clock *fakeClock, mod func(*HTTPSinkConfig), urls ...string) (*HTTPSink, *deadLetters) {
	t.Helper()
	var eps []Endpoint
	for _, u := range urls {
		eps = append(eps, Endpoint{URL: u, Secrets: testSecrets})
	}
	dl := newDeadLetters()
	cfg := HTTPSinkConfig{
		Endpoints:    StaticEndpoints{"tenant-1": eps},
		Clock:        clock,
		Random:       rand.NewPCG(1, 2),
		OnDeadLetter: dl.add,
		Logger:       slog.New(slog.DiscardHandler),
		// The receivers are httptest servers on 127.0.0.1.
		AllowPrivateDestinations: true,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewHTTPSink(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s, dl
}

// closeSink drains s and checks the counters add up.
func closeSink(t *testing.T, s *HTTPSink) Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Close(ctx))
	st := s.Stats()
	assert.Equal(t, st.Accepted, st.Delivered+st.Failed+st.Dropped, "every accepted delivery ends once: %+v", st)
	return st
}

func TestHTTPSinkDeliversSignedJSON(t *testing.T) {
	clock := newAutoClock()
	a := newReceiver(t, nil)
	b := newReceiver(t, nil)
	other := newReceiver(t, nil)
	s, dl := newTestSink(t, clock, func(c *HTTPSinkConfig) {
		c.Endpoints = StaticEndpoints{
			"tenant-1": {{URL: a.URL(), Secrets: testSecrets}, {URL: b.URL(), Secrets: Secrets{LoginRadius: "only-lr"}}},
			"tenant-2": {{URL: other.URL(), Secrets: testSecrets}},
		}
	})
	e := testEvent(evID(1))
	want, err := e.Payload()
	require.NoError(t, err)

	require.NoError(t, s.Emit(context.Background(), e))
	st := closeSink(t, s)

	assert.Equal(t, uint64(2), st.Delivered)
	assert.Empty(t, other.receipts(), "another tenant's endpoint never sees the event")
	assert.Empty(t, dl.all())

	ra := a.receipts()
	require.Len(t, ra, 1)
	r := ra[0]
	assert.JSONEq(t, string(want), string(r.Body))
	assert.Equal(t, want, r.Body, "the body is exactly Payload(), byte for byte")
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, defaultUserAgent, r.Header.Get("User-Agent"))
	assert.Equal(t, specLoginRadius(testLRSecret, r.Body), r.Header.Get("signature"))
	assert.Equal(t, e.ID, r.Header.Get("webhook-id"))
	assert.Equal(t, strconv.FormatInt(epoch.Unix(), 10), r.Header.Get("webhook-timestamp"))
	assert.Equal(t, specStandard(t, testStdSecret, e.ID, epoch.Unix(), r.Body), r.Header.Get("webhook-signature"))

	var p struct{ HookName, Time, HookId string }
	require.NoError(t, json.Unmarshal(r.Body, &p))
	assert.Equal(t, "resetpassword", p.HookName)
	assert.Equal(t, e.ID, p.HookId)
	assert.Equal(t, "2026-05-01T12:00:00Z", p.Time)

	rb := b.receipts()
	require.Len(t, rb, 1)
	assert.Equal(t, specLoginRadius("only-lr", rb[0].Body), rb[0].Header.Get("signature"))
	assert.Empty(t, rb[0].Header.Get("webhook-signature"), "no Standard secret, no Standard headers")
}

func TestHTTPSinkRetries500ThenDeliversOnce(t *testing.T) {
	clock := newAutoClock()
	rc := newReceiver(t, func(n int, _ *http.Request) (int, http.Header) {
		if n <= 5 {
			return http.StatusInternalServerError, nil
		}
		return http.StatusOK, nil
	})
	s, dl := newTestSink(t, clock, func(c *HTTPSinkConfig) {
		c.BaseBackoff, c.MaxBackoff = time.Second, time.Minute
	}, rc.URL())

	require.NoError(t, s.Emit(context.Background(), testEvent(evID(1))))
	st := closeSink(t, s)

	assert.Equal(t, 1, rc.ok(), "delivered exactly once")
	got := rc.receipts()
	require.Len(t, got, 6)
	assert.Equal(t, Stats{Accepted: 1, Delivered: 1, Retried: 5}, st)
	assert.Empty(t, dl.all())

	// Every attempt carries the same id, a fresh timestamp and a valid
	// signature over that timestamp.
	var last int64
	for i, r := range got {
		ts, err := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
		require.NoError(t, err)
		assert.Equal(t, evID(1), r.Header.Get("webhook-id"))
		assert.Equal(t, specStandard(t, testStdSecret, evID(1), ts, r.Body), r.Header.Get("webhook-signature"), "attempt %d", i+1)
		assert.GreaterOrEqual(t, ts, last)
		last = ts
	}
	// Full jitter: wait n is within [0, min(max, base*2^(n-1))].
	waits := clock.Waits()
	require.Len(t, waits, 5)
	for i, w := range waits {
		ceiling := min(time.Second<<i, time.Minute)
		assert.True(t, w >= 0 && w <= ceiling, "wait %d = %s, ceiling %s", i+1, w, ceiling)
	}
}

func TestHTTPSinkStatusClassification(t *testing.T) {
	tests := []struct {
		status   int
		requests int // with MaxAttempts 3
	}{
		{http.StatusBadRequest, 1},
		{http.StatusUnauthorized, 1},
		{http.StatusNotFound, 1},
		{http.StatusGone, 1},
		{http.StatusUnprocessableEntity, 1},
		{http.StatusFound, 1}, // redirects are not followed
		{http.StatusRequestTimeout, 3},
		{http.StatusTooManyRequests, 3},
		{http.StatusInternalServerError, 3},
		{http.StatusBadGateway, 3},
		{http.StatusServiceUnavailable, 3},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			rc := newReceiver(t, func(int, *http.Request) (int, http.Header) {
				return tt.status, http.Header{"Location": {"http://127.0.0.1:1/elsewhere"}}
			})
			s, dl := newTestSink(t, newAutoClock(), func(c *HTTPSinkConfig) { c.MaxAttempts = 3 }, rc.URL())
			require.NoError(t, s.Emit(context.Background(), testEvent(evID(1))))
			st := closeSink(t, s)

			assert.Len(t, rc.receipts(), tt.requests)
			assert.Equal(t, uint64(tt.requests-1), st.Retried)
			assert.Equal(t, uint64(1), st.Failed)
			letters := dl.all()
			require.Len(t, letters, 1)
			assert.Equal(t, tt.requests, letters[0].Attempts)
			assert.ErrorIs(t, letters[0].Err, ErrDeliveryFailed)
			var se *StatusError
			require.ErrorAs(t, letters[0].Err, &se)
			assert.Equal(t, tt.status, se.StatusCode)
			assert.Equal(t, evID(1), letters[0].EventID)
			assert.Equal(t, rc.URL(), letters[0].URL)
			assert.NotEmpty(t, letters[0].Payload)
		})
	}
}

func TestHTTPSinkHonoursRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter func(now time.Time) string
		wantWait   time.Duration // -1: jittered backoff, not Retry-After
	}{
		{"429 seconds", 429, func(time.Time) string { return "7" }, 7 * time.Second},
		{"503 seconds", 503, func(time.Time) string { return "120" }, 2 * time.Minute},
		{"429 HTTP-date", 429, func(now time.Time) string { return now.Add(30 * time.Second).Format(http.TimeFormat) }, 30 * time.Second},
		{"capped at MaxBackoff", 429, func(time.Time) string { return "86400" }, 10 * time.Minute},
		{"date in the past", 429, func(now time.Time) string { return now.Add(-time.Hour).Format(http.TimeFormat) }, 0},
		{"garbage ignored", 429, func(time.Time) string { return "soon" }, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newAutoClock()
			rc := newReceiver(t, func(n int, _ *http.Request) (int, http.Header) {
				if n == 1 {
					return tt.status, http.Header{"Retry-After": {tt.retryAfter(clock.Now())}}
				}
				return http.StatusNoContent, nil
			})
			s, _ := newTestSink(t, clock, func(c *HTTPSinkConfig) {
				c.BaseBackoff, c.MaxBackoff = 3*time.Second, 10*time.Minute
			}, rc.URL())
			require.NoError(t, s.Emit(context.Background(), testEvent(evID(1))))
			st := closeSink(t, s)

			assert.Equal(t, 1, rc.ok())
			assert.Equal(t, uint64(1), st.Retried)
			waits := clock.Waits()
			require.Len(t, waits, 1)
			if tt.wantWait < 0 {
				assert.LessOrEqual(t, waits[0], 3*time.Second)
			} else {
				assert.Equal(t, tt.wantWait, waits[0])
			}
		})
	}
}

// The receiver refuses connections when the event is emitted and comes back
// a minute later (of fake time); with the default retry policy the event
// still arrives, and the test takes milliseconds.
func TestHTTPSinkReceiverDownThenUp(t *testing.T) {
	clock := newAutoClock()
	rc := newReceiver(t, nil)
	// A port nothing listens on: dialing it is refused, as for a receiver
	// that is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := l.Addr().String()
	require.NoError(t, l.Close())

	upAt := epoch.Add(time.Minute)
	var refused atomic.Int32
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if clock.Now().Before(upAt) {
				refused.Add(1)
				return dialer.DialContext(ctx, network, down)
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}}
	s, dl := newTestSink(t, clock, func(c *HTTPSinkConfig) { c.Client = client }, rc.URL()) // default backoff

	start := time.Now()
	require.NoError(t, s.Emit(context.Background(), testEvent(evID(1))))
	st := closeSink(t, s)

	assert.Equal(t, 1, rc.ok())
	assert.Empty(t, dl.all())
	assert.Positive(t, refused.Load())
	assert.Equal(t, uint64(refused.Load()), st.Retried, "each refused connection was retried")
	assert.False(t, clock.Now().Before(upAt), "at least a minute of fake time passed")
	assert.Less(t, time.Since(start), 5*time.Second, "no real waiting")
}

func TestHTTPSinkAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, r *http.Request) (int, http.Header) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return http.StatusOK, nil
	})
	t.Cleanup(func() { close(release) })
	s, dl := newTestSink(t, newAutoClock(), func(c *HTTPSinkConfig) {
		c.AttemptTimeout = 20 * time.Millisecond
		c.MaxAttempts = 2
	}, rc.URL())
	require.NoError(t, s.Emit(context.Background(), testEvent(evID(1))))
	st := closeSink(t, s)

	assert.Equal(t, Stats{Accepted: 1, Retried: 1, Failed: 1}, st)
	letters := dl.all()
	require.Len(t, letters, 1)
	assert.ErrorIs(t, letters[0].Err, ErrDeliveryFailed)
	assert.ErrorIs(t, letters[0].Err, context.DeadlineExceeded)
	assert.NotContains(t, letters[0].Err.Error(), "/hooks", "the URL is not in the error")
	assert.Equal(t, 2, letters[0].Attempts)
}

// Emit returns while every worker is stuck on a receiver that does not
// answer.
func TestHTTPSinkEmitNeverWaitsOnTheNetwork(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(int, *http.Request) (int, http.Header) {
		<-release
		return http.StatusOK, nil
	})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce)
	s, _ := newTestSink(t, newAutoClock(), func(c *HTTPSinkConfig) { c.Workers = 1 }, rc.URL())

	done := make(chan error, 1)
	go func() {
		var err error
		for i := range 20 {
			err = errors.Join(err, s.Emit(context.Background(), testEvent(evID(i))))
		}
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Emit blocked on a stuck receiver")
	}
	<-rc.arrived // the worker is on the first event, and stuck there
	releaseOnce()
	st := closeSink(t, s)
	assert.Equal(t, uint64(20), st.Delivered)
	assert.Equal(t, 20, rc.ok())
}

func TestHTTPSinkQueueFull(t *testing.T) {
	tests := []struct {
		policy      QueueFullPolicy
		emitErr     error
		wantIDs     []string // delivered, in order
		wantDropped []string
	}{
		{QueueFullReject, ErrQueueFull, []string{evID(1), evID(2), evID(3)}, nil},
		{QueueFullDropOldest, nil, []string{evID(1), evID(3), evID(4)}, []string{evID(2)}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(int(tt.policy)), func(t *testing.T) {
			release := make(chan struct{})
			rc := newReceiver(t, func(n int, _ *http.Request) (int, http.Header) {
				if n == 1 {
					<-release
				}
				return http.StatusOK, nil
			})
			releaseOnce := sync.OnceFunc(func() { close(release) })
			t.Cleanup(releaseOnce)
			s, dl := newTestSink(t, newAutoClock(), func(c *HTTPSinkConfig) {
				c.Workers, c.QueueSize, c.QueueFull = 1, 2, tt.policy
			}, rc.URL())
			ctx := context.Background()

			require.NoError(t, s.Emit(ctx, testEvent(evID(1))))
			<-rc.arrived // the only worker holds event 1; the queue is empty
			require.NoError(t, s.Emit(ctx, testEvent(evID(2))))
			require.NoError(t, s.Emit(ctx, testEvent(evID(3))))
			err := s.Emit(ctx, testEvent(evID(4)))
			if tt.emitErr != nil {
				require.ErrorIs(t, err, tt.emitErr)
			} else {
				require.NoError(t, err)
			}
			releaseOnce()
			st := closeSink(t, s)

			var ids []string
			for _, r := range rc.receipts() {
				ids = append(ids, r.Header.Get("webhook-id"))
			}
			assert.Equal(t, tt.wantIDs, ids)
			var dropped []string
			for _, d := range dl.all() {
				assert.ErrorIs(t, d.Err, ErrDropped)
				dropped = append(dropped, d.EventID)
			}
			assert.Equal(t, tt.wantDropped, dropped)
			assert.Equal(t, uint64(len(tt.wantDropped)), st.Dropped)
			if tt.emitErr != nil {
				assert.Equal(t, uint64(1), st.Rejected)
			}
		})
	}
}

// Under QueueFullDropOldest a delivery waiting for its retry is the oldest
// and is the one evicted.
func TestHTTPSinkDropOldestEvictsWaitingRetry(t *testing.T) {
	clock := newManualClock()
	rc := newReceiver(t, func(n int, _ *http.Request) (int, http.Header) {
		if n == 1 {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	s, dl := newTestSink(t, clock, func(c *HTTPSinkConfig) {
		c.Workers, c.QueueSize, c.QueueFull = 1, 1, QueueFullDropOldest
	}, rc.URL())
	ctx := context.Background()
	require.NoError(t, s.Emit(ctx, testEvent(evID(1))))
	clock.awaitRegistered(t) // event 1 waits for its retry: the queue is full
	require.NoError(t, s.Emit(ctx, testEvent(evID(2))))
	st := closeSink(t, s)

	letters := dl.all()
	require.Len(t, letters, 1)
	assert.Equal(t, evID(1), letters[0].EventID)
	assert.Equal(t, 1, letters[0].Attempts)
	assert.ErrorIs(t, letters[0].Err, ErrDropped)
	assert.Equal(t, Stats{Accepted: 2, Delivered: 1, Retried: 1, Dropped: 1}, st)
}

func TestHTTPSinkCloseDrains(t *testing.T) {
	clock := newManualClock()
	release := make(chan struct{})
	var failedOnce atomic.Bool
	rc := newReceiver(t, func(_ int, r *http.Request) (int, http.Header) {
		if r.Header.Get("webhook-id") == evID(0) && failedOnce.CompareAndSwap(false, true) {
			return http.StatusServiceUnavailable, nil // event 0 needs a retry
		}
		<-release
		return http.StatusOK, nil
	})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce) // runs before the receiver's Close
	s, dl := newTestSink(t, clock, func(c *HTTPSinkConfig) { c.Workers = 2 }, rc.URL())
	for i := range 5 {
		require.NoError(t, s.Emit(context.Background(), testEvent(evID(i))))
	}
	wait := clock.awaitRegistered(t) // event 0 is waiting for its retry

	closed := make(chan error, 1)
	go func() { closed <- s.Close(context.Background()) }()

	// Close stops intake (events emitted before it got there are accepted
	// and delivered too)...
	extra := 0
	require.Eventually(t, func() bool {
		err := s.Emit(context.Background(), testEvent(evID(100+extra)))
		if err == nil {
			extra++
		}
		return errors.Is(err, ErrClosed)
	}, 5*time.Second, time.Millisecond)
	// ...but does not return while deliveries are in flight or waiting.
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v before the queue drained", err)
	default:
	}
	releaseOnce()
	clock.Advance(wait) // the retry's time comes
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the queue drained")
	}
	st := s.Stats()
	assert.Equal(t, uint64(5+extra), st.Delivered)
	assert.Equal(t, 5+extra, rc.ok())
	assert.Empty(t, dl.all())
	assert.Equal(t, uint64(1), st.Rejected)
}

// When Close's context ends first, in-flight requests are canceled and
// every unfinished delivery reaches the dead-letter callback.
func TestHTTPSinkCloseDeadlineDeadLettersTheRest(t *testing.T) {
	clock := newManualClock() // never advanced: the retry never comes
	rc := newReceiver(t, func(n int, r *http.Request) (int, http.Header) {
		if r.Header.Get("webhook-id") == evID(0) {
			return http.StatusBadGateway, nil
		}
		<-r.Context().Done() // hangs until the sink gives up on it
		return http.StatusOK, nil
	})
	s, dl := newTestSink(t, clock, func(c *HTTPSinkConfig) { c.Workers = 1 }, rc.URL())
	require.NoError(t, s.Emit(context.Background(), testEvent(evID(0))))
	clock.awaitRegistered(t)
	require.NoError(t, s.Emit(context.Background(), testEvent(evID(1)))) // in flight, hung
	require.NoError(t, s.Emit(context.Background(), testEvent(evID(2)))) // queued
	<-rc.arrived
	<-rc.arrived // event 0's failure, then event 1 reaching the receiver

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Close(ctx)
	require.ErrorIs(t, err, context.Canceled)

	letters := dl.all()
	require.Len(t, letters, 3)
	ids := map[string]DeadLetter{}
	for _, d := range letters {
		assert.ErrorIs(t, d.Err, ErrClosed)
		ids[d.EventID] = d
	}
	assert.Equal(t, 1, ids[evID(0)].Attempts)
	assert.Equal(t, 1, ids[evID(1)].Attempts)
	assert.Equal(t, 0, ids[evID(2)].Attempts)
	st := s.Stats()
	assert.Equal(t, Stats{Accepted: 3, Retried: 1, Dropped: 3}, st)
	assert.ErrorIs(t, s.Emit(context.Background(), testEvent(evID(3))), ErrClosed)
	require.NoError(t, s.Close(context.Background()), "a second Close finds nothing left")
}

func TestHTTPSinkInvalidDynamicEndpointIsDeadLettered(t *testing.T) {
	rc := newReceiver(t, nil)
	s, dl := newTestSink(t, newAutoClock(), func(c *HTTPSinkConfig) {
		c.Endpoints = EndpointSourceFunc(func(_ context.Context, tenant string) ([]Endpoint, error) {
			return []Endpoint{
				{URL: rc.URL()}, // no secret: would be unsigned
				{URL: rc.URL(), Secrets: Secrets{Standard: "x"}}, // malformed secret
				{URL: rc.URL(), Secrets: testSecrets},
			}, nil
		})
	})
	require.NoError(t, s.Emit(context.Background(), testEvent(evID(1))))
	st := closeSink(t, s)

	assert.Len(t, rc.receipts(), 1, "only the valid endpoint is called")
	assert.Equal(t, uint64(2), st.Failed)
	letters := dl.all()
	require.Len(t, letters, 2)
	for _, d := range letters {
		assert.ErrorIs(t, d.Err, ErrInvalidEndpoint)
		assert.Equal(t, 0, d.Attempts)
	}
}

func TestHTTPSinkEmitRefusals(t *testing.T) {
	boom := errors.New("tenant db down")
	s, _ := newTestSink(t, newAutoClock(), func(c *HTTPSinkConfig) {
		c.Endpoints = EndpointSourceFunc(func(_ context.Context, tenant string) ([]Endpoint, error) {
			switch tenant {
			case "broken":
				return nil, boom
			case "none":
				return nil, nil
			}
			return []Endpoint{{URL: "http://127.0.0.1:1/", Secrets: testSecrets}}, nil
		})
	})
	ctx := context.Background()
	e := testEvent("")
	assert.ErrorIs(t, s.Emit(ctx, e), ErrInvalidEvent)
	e = testEvent(evID(1))
	e.Data = []byte("{not json")
	assert.ErrorIs(t, s.Emit(ctx, e), ErrInvalidEvent)
	e = testEvent(evID(1))
	e.TenantID = "broken"
	assert.ErrorIs(t, s.Emit(ctx, e), boom)
	e.TenantID = "none"
	assert.NoError(t, s.Emit(ctx, e), "a tenant without webhooks is not an error")
	assert.Equal(t, Stats{Rejected: 3}, s.Stats())
}

func TestNewHTTPSinkValidatesConfig(t *testing.T) {
	good := Endpoint{URL: "https://hooks.example.com/in", Secrets: testSecrets}
	tests := []struct {
		name string
		cfg  HTTPSinkConfig
		want error
	}{
		{"no endpoints", HTTPSinkConfig{}, ErrInvalidConfig},
		{"unknown policy", HTTPSinkConfig{Endpoints: StaticEndpoints{}, QueueFull: 7}, ErrInvalidConfig},
		{"base above max", HTTPSinkConfig{Endpoints: StaticEndpoints{}, BaseBackoff: time.Hour, MaxBackoff: time.Minute}, ErrInvalidConfig},
		{"relative URL", HTTPSinkConfig{Endpoints: StaticEndpoints{"t": {{URL: "/in", Secrets: testSecrets}}}}, ErrInvalidEndpoint},
		{"ftp URL", HTTPSinkConfig{Endpoints: StaticEndpoints{"t": {{URL: "ftp://h/in", Secrets: testSecrets}}}}, ErrInvalidEndpoint},
		{"no secret", HTTPSinkConfig{Endpoints: StaticEndpoints{"t": {{URL: good.URL}}}}, ErrInvalidEndpoint},
		{"bad Standard secret", HTTPSinkConfig{Endpoints: StaticEndpoints{"t": {{URL: good.URL, Secrets: Secrets{Standard: "whsec_***"}}}}}, signature.ErrBadSecret},
		{"valid", HTTPSinkConfig{Endpoints: StaticEndpoints{"t": {good}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewHTTPSink(tt.cfg)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
				assert.ErrorIs(t, err, ErrInvalidConfig, "every refusal of New is a config error")
				assert.Nil(t, s)
				return
			}
			require.NoError(t, err)
			require.NoError(t, s.Close(context.Background()))
		})
	}
}

// The logs name the event, tenant, endpoint host, attempt and status, and
// never a secret, the URL's path or query, or the payload (which holds the
// phone number).
func TestHTTPSinkLogsNoSecrets(t *testing.T) {
	rc := newReceiver(t, func(n int, _ *http.Request) (int, http.Header) {
		if n == 1 {
			return http.StatusInternalServerError, nil
		}
		return http.StatusBadRequest, nil
	})
	var buf bytes.Buffer
	var mu = make(chan struct{}, 1)
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	url := rc.URL() + "?token=url-token-123"
	s, _ := newTestSink(t, newAutoClock(), func(c *HTTPSinkConfig) {
		c.Logger = logger
		c.OnDeadLetter = nil // the default: logged only
	}, url)
	require.NoError(t, s.Emit(context.Background(), testEvent(evID(7))))
	closeSink(t, s)

	logs := buf.String()
	for _, want := range []string{evID(7), "tenant-1", rc.srv.Listener.Addr().String(), `"status":500`, `"status":400`, `"attempt":2`, "dead letter"} {
		assert.Contains(t, logs, want)
	}
	for _, secret := range []string{testLRSecret, strings.TrimPrefix(testStdSecret, "whsec_"), "url-token-123", "/hooks", "+919999999999", "9999999999"} {
		assert.NotContains(t, logs, secret)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu chan struct{}
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu <- struct{}{}
	defer func() { <-l.mu }()
	return l.w.Write(p)
}

func TestBackoffCeiling(t *testing.T) {
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second},
		{7, 320 * time.Second}, {8, 10 * time.Minute}, {60, 10 * time.Minute}, {1000, 10 * time.Minute},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, backoffCeiling(tt.attempt, defaultBaseBackoff, defaultMaxBackoff), "attempt %d", tt.attempt)
	}
}

func TestJitterUsesTheInjectedSource(t *testing.T) {
	for seed := range uint64(5) {
		s := &HTTPSink{rnd: rand.New(rand.NewPCG(seed, seed)), baseBackoff: time.Second, maxBackoff: time.Hour}
		for attempt := 1; attempt <= 14; attempt++ {
			c := backoffCeiling(attempt, time.Second, time.Hour)
			d := s.retryDelay(attempt, outcome{})
			assert.True(t, d >= 0 && d <= c, "attempt %d: %s not in [0, %s]", attempt, d, c)
		}
	}
	// The same seed gives the same schedule: the source is really used.
	a := &HTTPSink{rnd: rand.New(rand.NewPCG(1, 2)), baseBackoff: time.Second, maxBackoff: time.Hour}
	b := &HTTPSink{rnd: rand.New(rand.NewPCG(1, 2)), baseBackoff: time.Second, maxBackoff: time.Hour}
	c := &HTTPSink{rnd: rand.New(rand.NewPCG(3, 4)), baseBackoff: time.Second, maxBackoff: time.Hour}
	var sa, sb, sc []time.Duration
	for attempt := 1; attempt <= 10; attempt++ {
		sa = append(sa, a.retryDelay(attempt, outcome{}))
		sb = append(sb, b.retryDelay(attempt, outcome{}))
		sc = append(sc, c.retryDelay(attempt, outcome{}))
	}
	assert.Equal(t, sa, sb)
	assert.NotEqual(t, sa, sc)
}

func TestParseRetryAfter(t *testing.T) {
	now := epoch
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"0", 0, true},
		{"42", 42 * time.Second, true},
		{" 5 ", 5 * time.Second, true},
		{"-3", 0, false},
		{"", 0, false},
		{"1.5", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"Fri, 01 May 2026 12:02:00 GMT", 2 * time.Minute, true},
		{"Friday, 01-May-26 12:00:10 GMT", 10 * time.Second, true}, // RFC 850, obsolete but valid
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		assert.Equal(t, tt.wantOK, ok, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}
