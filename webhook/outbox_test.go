package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

// seedOutbox writes msgs into ms the way otpreset does: inside a successful
// Reset.
func seedOutbox(t *testing.T, ms *memstore.Store, msgs ...store.OutboxMessage) {
	t.Helper()
	ctx := context.Background()
	const phone = "+15550001111"
	hash := []byte("code-hash")
	require.NoError(t, ms.AddUser(ctx, store.User{TenantID: "tenant-1", ID: "u-1", Phone: phone, Profile: json.RawMessage(`{}`)}))
	_, err := ms.IssueChallenge(ctx, store.Issue{Challenge: store.Challenge{
		TenantID: "tenant-1", Phone: phone, CodeHash: hash,
		CreatedAt: epoch, ExpiresAt: epoch.Add(5 * time.Minute), MaxAttempts: 5,
	}})
	require.NoError(t, err)
	require.NoError(t, ms.Reset(ctx, store.Reset{
		Check:  store.CodeCheck{TenantID: "tenant-1", Phone: phone, CodeHash: hash, Now: epoch},
		Change: store.PasswordChange{TenantID: "tenant-1", UserID: "u-1", PasswordHash: "$argon2id$test", ChangedAt: epoch},
		Outbox: msgs,
	}))
}

func outboxMessages(t *testing.T, tenant string, ids ...string) []store.OutboxMessage {
	t.Helper()
	var msgs []store.OutboxMessage
	for _, id := range ids {
		e := testEvent(id)
		e.TenantID = tenant
		body, err := e.Payload()
		require.NoError(t, err)
		msgs = append(msgs, store.OutboxMessage{ID: e.ID, TenantID: e.TenantID, Payload: body, CreatedAt: e.Time})
	}
	return msgs
}

func pendingIDs(t *testing.T, o store.Outbox) []string {
	t.Helper()
	msgs, err := o.PendingOutbox(context.Background(), 1000)
	require.NoError(t, err)
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	return ids
}

// watchedOutbox reports each MarkDelivered on marks, and can make it fail.
type watchedOutbox struct {
	store.Outbox
	marks    chan string
	failMark func(id string) bool
}

func watch(o store.Outbox) *watchedOutbox {
	return &watchedOutbox{Outbox: o, marks: make(chan string, 1000)}
}

func (w *watchedOutbox) MarkDelivered(ctx context.Context, id string) error {
	defer func() { w.marks <- id }()
	if w.failMark != nil && w.failMark(id) {
		return errors.New("database connection lost")
	}
	return w.Outbox.MarkDelivered(ctx, id)
}

func (w *watchedOutbox) awaitMarks(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		select {
		case id := <-w.marks:
			ids = append(ids, id)
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d marks", len(ids), n)
		}
	}
	return ids
}

func newTestDispatcher(t *testing.T, o store.Outbox, s *HTTPSink, clock *fakeClock, mod func(*DispatcherConfig)) *Dispatcher {
	t.Helper()
	cfg := DispatcherConfig{Outbox: o, Sink: s, Clock: clock, Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	d, err := NewDispatcher(cfg)
	require.NoError(t, err)
	return d
}

// idCounter counts 2xx receipts per webhook-id.
type idCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *idCounter) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[id]++
}

func (c *idCounter) get() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

func TestNewDispatcherValidates(t *testing.T) {
	_, err := NewDispatcher(DispatcherConfig{Outbox: memstore.New()})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewDispatcher(DispatcherConfig{})
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

func TestDispatcherDeliversAndMarks(t *testing.T) {
	ms := memstore.New()
	ids := []string{evID(1), evID(2), evID(3)}
	seedOutbox(t, ms, outboxMessages(t, "tenant-1", ids...)...)
	rc := newReceiver(t, nil)
	s, dl := newTestSink(t, newAutoClock(), nil, rc.URL())
	d := newTestDispatcher(t, ms, s, newManualClock(), nil)

	n, err := d.Poll(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	closeSink(t, s)

	assert.Empty(t, pendingIDs(t, ms), "all marked delivered")
	assert.Equal(t, DispatcherStats{Marked: 3}, d.Stats())
	assert.Empty(t, dl.all())
	got := rc.receipts()
	require.Len(t, got, 3)
	bodies := map[string][]byte{}
	for _, m := range outboxMessages(t, "tenant-1", ids...) {
		bodies[m.ID] = m.Payload
	}
	for _, r := range got {
		id := r.Header.Get("webhook-id")
		assert.Equal(t, []byte(bodies[id]), r.Body, "the stored payload, byte for byte")
		ts := epoch.Unix()
		assert.Equal(t, specStandard(t, testStdSecret, id, ts, r.Body), r.Header.Get("webhook-signature"))
		assert.Equal(t, specLoginRadius(testLRSecret, r.Body), r.Header.Get("signature"))
	}
}

// The process dies with deliveries in flight and others delivered but not
// yet marked; a new dispatcher on the same store delivers everything, each
// event at least once, with the same webhook-id, and marks it all.
func TestDispatcherCrashThenRestartDeliversEverything(t *testing.T) {
	ms := memstore.New()
	var ids []string
	for i := range 10 {
		ids = append(ids, evID(i))
	}
	seedOutbox(t, ms, outboxMessages(t, "tenant-1", ids...)...)

	var phase atomic.Int32 // 1: before the crash, 2: after
	var answered atomic.Int32
	var ok idCounter
	rc := newReceiver(t, func(_ int, r *http.Request) (int, http.Header) {
		if phase.Load() == 1 && answered.Add(1) > 4 {
			<-r.Context().Done() // in flight when the process dies
			return http.StatusServiceUnavailable, nil
		}
		ok.add(r.Header.Get("webhook-id"))
		return http.StatusOK, nil
	})

	// Process 1: two marks succeed, then the database is gone (the process
	// is dying): deliveries 3 and 4 were received but never marked.
	phase.Store(1)
	var marks atomic.Int32
	o1 := watch(ms)
	o1.failMark = func(string) bool { return marks.Add(1) > 2 }
	s1, _ := newTestSink(t, newAutoClock(), func(c *HTTPSinkConfig) { c.Workers = 2 }, rc.URL())
	d1 := newTestDispatcher(t, o1, s1, newManualClock(), nil)
	n, err := d1.Poll(context.Background())
	require.NoError(t, err)
	require.Equal(t, 10, n)
	o1.awaitMarks(t, 4)
	for range 6 {
		<-rc.arrived // 4 answered, 2 hanging in flight
	}
	crashed, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, s1.Close(crashed), context.Canceled) // the process is gone
	assert.Len(t, pendingIDs(t, ms), 8, "only two were marked")

	// Process 2: a new sink and dispatcher on the same store.
	phase.Store(2)
	o2 := watch(ms)
	s2, dl2 := newTestSink(t, newAutoClock(), nil, rc.URL())
	pollClock := newManualClock()
	d2 := newTestDispatcher(t, o2, s2, pollClock, nil)
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- d2.Run(ctx) }()
	pollClock.awaitRegistered(t) // the first poll is done; Run waits for the next
	o2.awaitMarks(t, 8)
	stop()
	require.ErrorIs(t, <-ran, context.Canceled)
	closeSink(t, s2)

	assert.Empty(t, pendingIDs(t, ms), "every message marked delivered")
	assert.Empty(t, dl2.all())
	counts := ok.get()
	dups := 0
	for _, id := range ids {
		assert.GreaterOrEqual(t, counts[id], 1, "event %s delivered", id)
		if counts[id] > 1 {
			dups++
		}
	}
	assert.Equal(t, 2, dups, "the two delivered-but-unmarked events came twice, with the same id")
	assert.Equal(t, DispatcherStats{Marked: 8}, d2.Stats())
	assert.Equal(t, DispatcherStats{Marked: 2, MarkErrors: 2}, d1.Stats())
}

// A message the sink gave up on stays pending, is dead-lettered, and is not
// queued again until ParkFor has passed.
func TestDispatcherParksFailedMessages(t *testing.T) {
	ms := memstore.New()
	seedOutbox(t, ms, outboxMessages(t, "tenant-1", evID(1), evID(2))...)
	var tries idCounter
	rc := newReceiver(t, func(_ int, r *http.Request) (int, http.Header) {
		id := r.Header.Get("webhook-id")
		tries.add(id)
		if id == evID(1) {
			return http.StatusBadRequest, nil
		}
		return http.StatusOK, nil
	})
	o := watch(ms)
	s, dl := newTestSink(t, newAutoClock(), nil, rc.URL())
	clock := newManualClock()
	d := newTestDispatcher(t, o, s, clock, func(c *DispatcherConfig) { c.ParkFor = time.Hour })
	ctx := context.Background()

	n, err := d.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, []string{evID(2)}, o.awaitMarks(t, 1))
	letter := <-dl.ch
	assert.Equal(t, evID(1), letter.EventID)
	var se *StatusError
	require.ErrorAs(t, letter.Err, &se)
	assert.Equal(t, http.StatusBadRequest, se.StatusCode)

	require.Eventually(t, func() bool { return d.Stats().Parked == 1 }, 5*time.Second, time.Millisecond)
	n, err = d.Poll(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "parked: not tried again yet")

	clock.Advance(time.Hour)
	n, err = d.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "tried again after ParkFor")
	<-dl.ch
	closeSink(t, s)

	assert.Equal(t, map[string]int{evID(1): 2, evID(2): 1}, tries.get())
	assert.Equal(t, []string{evID(1)}, pendingIDs(t, ms), "never marked: still pending for a restart")
	assert.Equal(t, DispatcherStats{Marked: 1, Parked: 2}, d.Stats())
}

// Messages no endpoint can take (their tenant has none) are parked; later
// messages behind them are still reached although PendingOutbox returns the
// oldest first.
func TestDispatcherSeesPastParkedMessages(t *testing.T) {
	ms := memstore.New()
	seedOutbox(t, ms, outboxMessages(t, "no-hooks", evID(1), evID(2), evID(3))...)
	seedOutbox(t, ms, outboxMessages(t, "tenant-1", evID(4), evID(5), evID(6))...)
	rc := newReceiver(t, nil)
	o := watch(ms)
	s, dl := newTestSink(t, newAutoClock(), nil, rc.URL())
	d := newTestDispatcher(t, o, s, newManualClock(), func(c *DispatcherConfig) { c.BatchSize = 2 })
	ctx := context.Background()

	total := 0
	for range 4 {
		n, err := d.Poll(ctx)
		require.NoError(t, err)
		o.awaitMarks(t, n)
		total += n
	}
	closeSink(t, s)

	assert.Equal(t, 3, total)
	assert.Equal(t, []string{evID(1), evID(2), evID(3)}, pendingIDs(t, ms))
	var noEndpoint []string
	for _, l := range dl.all() {
		assert.ErrorIs(t, l.Err, ErrNoEndpoints)
		noEndpoint = append(noEndpoint, l.EventID)
	}
	assert.Equal(t, []string{evID(1), evID(2), evID(3)}, noEndpoint)
}

// When the sink's queue is full the dispatcher stops queuing and leaves the
// rest in the outbox; polls while deliveries are in flight never queue a
// message twice.
func TestDispatcherQueueFullAndInFlight(t *testing.T) {
	ms := memstore.New()
	var ids []string
	for i := range 6 {
		ids = append(ids, evID(i))
	}
	seedOutbox(t, ms, outboxMessages(t, "tenant-1", ids...)...)
	release := make(chan struct{})
	var ok idCounter
	rc := newReceiver(t, func(_ int, r *http.Request) (int, http.Header) {
		<-release
		ok.add(r.Header.Get("webhook-id"))
		return http.StatusOK, nil
	})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce)
	o := watch(ms)
	s, _ := newTestSink(t, newAutoClock(), func(c *HTTPSinkConfig) { c.Workers, c.QueueSize = 1, 2 }, rc.URL())
	d := newTestDispatcher(t, o, s, newManualClock(), nil)
	ctx := context.Background()

	n1, err := d.Poll(ctx)
	require.NoError(t, err)
	assert.True(t, n1 >= 2 && n1 <= 3, "queue of 2 plus at most one taken by the worker: %d", n1)
	<-rc.arrived // the worker is stuck on the first
	n2, err := d.Poll(ctx)
	require.NoError(t, err)
	assert.LessOrEqual(t, n1+n2, 3, "nothing queued twice, nothing beyond the queue")

	releaseOnce()
	queued := n1 + n2
	o.awaitMarks(t, queued)
	for queued < len(ids) {
		n, err := d.Poll(ctx)
		require.NoError(t, err)
		o.awaitMarks(t, n)
		queued += n
	}
	closeSink(t, s)
	assert.Empty(t, pendingIDs(t, ms))
	for _, id := range ids {
		assert.Equal(t, 1, ok.get()[id], "event %s delivered exactly once", id)
	}
}

// A message is marked only once every endpoint of its tenant took it.
func TestDispatcherMarksOnlyWhenEveryEndpointDelivered(t *testing.T) {
	ms := memstore.New()
	seedOutbox(t, ms, outboxMessages(t, "tenant-1", evID(1))...)
	good := newReceiver(t, nil)
	bad := newReceiver(t, func(int, *http.Request) (int, http.Header) { return http.StatusForbidden, nil })
	o := watch(ms)
	s, dl := newTestSink(t, newAutoClock(), nil, good.URL(), bad.URL())
	d := newTestDispatcher(t, o, s, newManualClock(), nil)

	n, err := d.Poll(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	closeSink(t, s)

	assert.Equal(t, 1, good.ok())
	assert.Len(t, bad.receipts(), 1)
	require.Len(t, dl.all(), 1)
	assert.Equal(t, bad.URL(), dl.all()[0].URL)
	assert.Equal(t, []string{evID(1)}, pendingIDs(t, ms))
	assert.Equal(t, DispatcherStats{Parked: 1}, d.Stats())
}

// Run stops with ErrClosed when the sink is closed under it, and reports a
// failing store without stopping.
func TestDispatcherRunStops(t *testing.T) {
	ms := memstore.New()
	seedOutbox(t, ms, outboxMessages(t, "tenant-1", evID(1))...)
	s, _ := newTestSink(t, newAutoClock(), nil, "http://127.0.0.1:1/")
	require.NoError(t, s.Close(context.Background()))
	d := newTestDispatcher(t, ms, s, newManualClock(), nil)
	assert.ErrorIs(t, d.Run(context.Background()), ErrClosed)

	var polls atomic.Int32
	failing := failingOutbox{polls: &polls}
	s2, _ := newTestSink(t, newAutoClock(), nil)
	clock := newManualClock()
	d2 := newTestDispatcher(t, failing, s2, clock, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- d2.Run(ctx) }()
	clock.awaitRegistered(t)
	clock.Advance(defaultPollInterval)
	clock.awaitRegistered(t)
	cancel()
	assert.ErrorIs(t, <-ran, context.Canceled)
	assert.Equal(t, int32(2), polls.Load(), "a failed poll is retried after the interval")
}

type failingOutbox struct{ polls *atomic.Int32 }

func (f failingOutbox) PendingOutbox(context.Context, int) ([]store.OutboxMessage, error) {
	f.polls.Add(1)
	return nil, errors.New("connection refused")
}

func (failingOutbox) MarkDelivered(context.Context, string) error { return nil }
