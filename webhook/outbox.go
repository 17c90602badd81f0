package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otpreset/go/store"
)

// ErrNoEndpoints is the dead-letter error of an outbox message whose tenant
// has no endpoint: nothing can deliver it.
var ErrNoEndpoints = errors.New("webhook: tenant has no endpoint")

// Defaults of DispatcherConfig, each documented on its field.
const (
	defaultPollInterval = time.Second
	defaultBatchSize    = 100
	defaultParkFor      = time.Hour
	markTimeout         = 10 * time.Second
)

// DispatcherConfig configures a Dispatcher. Outbox and Sink are required.
type DispatcherConfig struct {
	// Outbox is the store the messages are read from and marked in.
	Outbox store.Outbox
	// Sink delivers them, with its endpoints, signing, workers and retry
	// policy. Its queue-full policy does not apply: when the queue is full
	// the dispatcher leaves the rest in the outbox for a later poll.
	Sink *HTTPSink
	// PollInterval is the wait between polls that found less than a full
	// batch. Default 1 s.
	PollInterval time.Duration
	// BatchSize is how many new messages one poll queues at most. Default
	// 100.
	BatchSize int
	// ParkFor is how long a message whose delivery failed (the sink gave up
	// on an endpoint) is left alone before this dispatcher tries it again.
	// It stays pending in the outbox meanwhile, so a restarted process tries
	// it at once. Default 1 h.
	ParkFor time.Duration
	// Clock times the parking: any value with a Now method. Nil means the
	// system clock. When it also has a method
	// After(d time.Duration) <-chan time.Time, the waits between polls use
	// it.
	Clock interface{ Now() time.Time }
	// Logger as in HTTPSinkConfig. Nil means slog.Default().
	Logger *slog.Logger
}

// DispatcherStats are a Dispatcher's counters.
type DispatcherStats struct {
	// Marked: messages delivered to every endpoint and marked delivered.
	Marked uint64
	// MarkErrors: messages delivered whose MarkDelivered failed; they are
	// delivered again later (same webhook-id).
	MarkErrors uint64
	// Parked: times a message was parked after a failed delivery.
	Parked uint64
}

// Dispatcher delivers the messages of a store.Outbox through an HTTPSink,
// and marks each delivered once every endpoint of its tenant answered 2xx.
// Delivery is at least once: a crash between the answer and the mark, or a
// failure on one endpoint of several, delivers again with the same
// webhook-id, which receivers use to de-duplicate.
//
// MarkDelivered is called on the sink's worker that finished the last
// endpoint, with a 10 s timeout and the values (not the cancellation) of the
// context given to Poll or Run.
//
// Run one Dispatcher per process; several processes on one outbox each
// deliver every pending message (still at least once, with more duplicates).
type Dispatcher struct {
	outbox   store.Outbox
	sink     *HTTPSink
	interval time.Duration
	batch    int
	parkFor  time.Duration
	clock    clock
	log      *slog.Logger

	pollMu   sync.Mutex // one Poll at a time
	mu       sync.Mutex
	inflight map[string]*outboxDelivery
	parked   map[string]time.Time // id -> until
	recent   map[string]struct{}  // marked during the current poll

	marked, markErrors, parkedN atomic.Uint64
}

// outboxDelivery tracks one message across its tenant's endpoints.
type outboxDelivery struct {
	d        *Dispatcher
	msg      store.OutboxMessage
	ctx      context.Context // for MarkDelivered: the poll's values, not its cancellation
	left     int
	failed   bool // an endpoint gave up: park
	released bool // dropped or abandoned by the sink: still pending, poll again
}

// NewDispatcher returns a Dispatcher; start it with Run.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if cfg.Outbox == nil || cfg.Sink == nil {
		return nil, fmt.Errorf("%w: Outbox and Sink are required", ErrInvalidConfig)
	}
	d := &Dispatcher{
		outbox:   cfg.Outbox,
		sink:     cfg.Sink,
		interval: orDefault(cfg.PollInterval, defaultPollInterval),
		batch:    orDefault(cfg.BatchSize, defaultBatchSize),
		parkFor:  orDefault(cfg.ParkFor, defaultParkFor),
		clock:    clockOf(cfg.Clock),
		log:      cfg.Logger,
		inflight: map[string]*outboxDelivery{},
		parked:   map[string]time.Time{},
		recent:   map[string]struct{}{},
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	return d, nil
}

// Run polls until ctx ends (returning ctx.Err()) or the sink is closed
// (returning an error wrapping ErrClosed). A poll that fails is logged and
// tried again after PollInterval. Cancel Run before closing the sink.
func (d *Dispatcher) Run(ctx context.Context) error {
	for {
		n, err := d.Poll(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, ErrClosed):
			return err
		case err != nil:
			d.log.Error("webhook: outbox poll failed", "error", err)
		case n == d.batch:
			continue // a full batch: more may be waiting
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.clock.after(d.interval):
		}
	}
}

// Poll queues up to BatchSize pending messages that are not already being
// delivered or parked, and reports how many it queued. It stops early, with
// no error, when the sink's queue is full.
func (d *Dispatcher) Poll(ctx context.Context) (int, error) {
	d.pollMu.Lock()
	defer d.pollMu.Unlock()
	msgs, err := d.outbox.PendingOutbox(ctx, d.startPoll())
	if err != nil {
		return 0, fmt.Errorf("webhook: reading the outbox: %w", err)
	}
	n := 0
	for _, m := range msgs {
		if n >= d.batch {
			break
		}
		queued, err := d.queue(ctx, m)
		if errors.Is(err, ErrQueueFull) {
			d.log.Debug("webhook: sink queue full; outbox messages wait for the next poll", "queued", n)
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if queued {
			n++
		}
	}
	return n, nil
}

// startPoll forgets what the last poll needed to skip and returns how many
// pending messages to read.
func (d *Dispatcher) startPoll() int {
	now := d.clock.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	// A message marked before this poll reads the outbox is no longer
	// pending in what it reads; only marks during this poll need skipping.
	clear(d.recent)
	for id, until := range d.parked {
		if !now.Before(until) {
			delete(d.parked, id)
		}
	}
	// Ask for enough to see BatchSize messages beyond those skipped.
	return d.batch + len(d.inflight) + len(d.parked)
}

// queue hands m to the sink for each endpoint of its tenant, unless it is
// being delivered, parked or was just marked. queued reports whether it was
// handed over; an error means the sink refused it (ErrQueueFull included).
func (d *Dispatcher) queue(ctx context.Context, m store.OutboxMessage) (queued bool, err error) {
	if m.ID == "" {
		d.log.Error("webhook: outbox message without ID skipped", "tenant", m.TenantID)
		return false, nil
	}
	d.mu.Lock()
	_, busy := d.inflight[m.ID]
	_, parked := d.parked[m.ID]
	_, done := d.recent[m.ID]
	d.mu.Unlock()
	if busy || parked || done {
		return false, nil
	}
	eps, err := d.sink.endpoints.Endpoints(ctx, m.TenantID)
	if err != nil {
		d.log.Error("webhook: endpoints of an outbox message's tenant", "event_id", m.ID, "tenant", m.TenantID, "error", err)
		return false, nil
	}
	if len(eps) == 0 {
		d.sink.deadLetter(&job{eventID: m.ID, tenantID: m.TenantID, body: m.Payload}, ErrNoEndpoints)
		d.park(m.ID)
		return false, nil
	}
	od := &outboxDelivery{d: d, msg: m, ctx: context.WithoutCancel(ctx), left: len(eps)}
	d.mu.Lock()
	d.inflight[m.ID] = od
	d.mu.Unlock()
	if err := d.sink.enqueue(d.sink.newJobs(m.ID, m.TenantID, m.Payload, eps, od.done), QueueFullReject); err != nil {
		d.mu.Lock()
		delete(d.inflight, m.ID)
		d.mu.Unlock()
		return false, err
	}
	return true, nil
}

func (d *Dispatcher) park(id string) {
	d.parkedN.Add(1)
	d.mu.Lock()
	d.parked[id] = d.clock.now().Add(d.parkFor)
	d.mu.Unlock()
}

// done is the sink's report of one endpoint's delivery of the message. It
// runs on a sink worker.
func (od *outboxDelivery) done(j *job, err error) {
	d := od.d
	switch {
	case err == nil:
	case errors.Is(err, ErrDeliveryFailed):
		d.sink.deadLetter(j, err)
	default:
		// ErrDropped or ErrClosed: the message is still in the outbox.
		d.log.Info("webhook: outbox delivery abandoned; it stays pending", "event_id", j.eventID, "tenant", j.tenantID, "error", err)
	}
	d.mu.Lock()
	od.left--
	if err != nil {
		if errors.Is(err, ErrDeliveryFailed) {
			od.failed = true
		} else {
			od.released = true
		}
	}
	last := od.left == 0
	d.mu.Unlock()
	if !last {
		return
	}
	switch {
	case od.failed:
		d.mu.Lock()
		delete(d.inflight, od.msg.ID)
		d.mu.Unlock()
		d.park(od.msg.ID)
	case od.released:
		d.mu.Lock()
		delete(d.inflight, od.msg.ID)
		d.mu.Unlock()
	default:
		ctx, cancel := context.WithTimeout(od.ctx, markTimeout)
		merr := d.outbox.MarkDelivered(ctx, od.msg.ID)
		cancel()
		if merr != nil {
			d.markErrors.Add(1)
			d.log.Error("webhook: delivered but not marked; it will be delivered again", "event_id", od.msg.ID, "tenant", od.msg.TenantID, "error", merr)
		} else {
			d.marked.Add(1)
		}
		d.mu.Lock()
		delete(d.inflight, od.msg.ID)
		if merr == nil {
			d.recent[od.msg.ID] = struct{}{}
		}
		d.mu.Unlock()
	}
}

// Stats returns the counters.
func (d *Dispatcher) Stats() DispatcherStats {
	return DispatcherStats{Marked: d.marked.Load(), MarkErrors: d.markErrors.Load(), Parked: d.parkedN.Load()}
}
