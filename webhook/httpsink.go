package webhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of HTTPSink.
var (
	// ErrInvalidConfig is wrapped by NewHTTPSink's and NewDispatcher's
	// errors for a config they cannot run with.
	ErrInvalidConfig = errors.New("webhook: invalid config")
	// ErrInvalidEvent: Emit was given an event without ID or TenantID.
	ErrInvalidEvent = errors.New("webhook: invalid event")
	// ErrQueueFull: Emit refused the event because the queue is full
	// (QueueFullReject). The caller logs it; the event was not accepted.
	ErrQueueFull = errors.New("webhook: delivery queue full")
	// ErrClosed: the sink is closing or closed. Emit returns it; a
	// dead letter carries it when Close's context ended before the delivery
	// finished.
	ErrClosed = errors.New("webhook: sink closed")
	// ErrDropped: a queued delivery was evicted to make room for a newer
	// one (QueueFullDropOldest). It reaches the dead-letter callback.
	ErrDropped = errors.New("webhook: delivery dropped from a full queue")
	// ErrDeliveryFailed: the endpoint never answered 2xx: the last try
	// failed, or the failure was not worth retrying (a 4xx other than 408
	// and 429, a 3xx, an invalid endpoint, a destination that is not public:
	// ErrForbiddenDestination).
	ErrDeliveryFailed = errors.New("webhook: delivery failed")
)

// StatusError is the cause of a failed delivery whose endpoint answered with
// a status other than 2xx.
type StatusError struct {
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("webhook: endpoint answered HTTP %d", e.StatusCode)
}

// QueueFullPolicy is what Emit does when the queue is full. Neither policy
// drops an event silently.
type QueueFullPolicy int

const (
	// QueueFullReject (the default) refuses the new event: Emit returns an
	// error wrapping ErrQueueFull, which otpreset logs; the reset itself
	// still succeeds. Deliveries already queued are kept.
	QueueFullReject QueueFullPolicy = iota
	// QueueFullDropOldest accepts the new event and evicts the oldest
	// queued delivery (one waiting for a worker or for its next retry),
	// which is handed to the dead-letter callback with ErrDropped. It favours
	// fresh events when an endpoint has been down for long.
	QueueFullDropOldest
)

// DeadLetter is a delivery that will not be tried again.
type DeadLetter struct {
	EventID  string
	TenantID string
	// URL is the endpoint's URL.
	URL string
	// Payload is the exact body that was (or would have been) sent, so that
	// a host can store it and deliver it later.
	Payload []byte
	// Attempts is how many HTTP requests were made (0 if none).
	Attempts int
	// Err says why: it wraps ErrDeliveryFailed (with a *StatusError or the
	// transport error as cause), ErrDropped, or ErrClosed.
	Err error
}

// Stats are the sink's counters since NewHTTPSink. A delivery is one event
// to one endpoint. Once Close has returned, Accepted == Delivered + Failed +
// Dropped.
type Stats struct {
	// Accepted deliveries (queued by Emit or by a Dispatcher).
	Accepted uint64
	// Delivered: answered 2xx.
	Delivered uint64
	// Retried: tries scheduled after a retryable failure.
	Retried uint64
	// Failed: given up after the last try or a failure not worth retrying.
	Failed uint64
	// Dropped: evicted by QueueFullDropOldest, or abandoned because Close's
	// context ended first.
	Dropped uint64
	// Rejected: events Emit did not accept (it returned an error: queue
	// full under QueueFullReject, sink closed, invalid event, or the
	// EndpointSource failed).
	Rejected uint64
}

// Defaults of HTTPSinkConfig, each documented on its field.
const (
	defaultWorkers        = 4
	defaultQueueSize      = 1024
	defaultAttemptTimeout = 15 * time.Second
	defaultMaxAttempts    = 10
	defaultBaseBackoff    = 5 * time.Second
	defaultMaxBackoff     = 10 * time.Minute
	defaultUserAgent      = "otpreset-webhook/1.0"
)

// HTTPSinkConfig configures an HTTPSink. Only Endpoints is required; every
// zero field takes the default named in its comment.
type HTTPSinkConfig struct {
	// Endpoints tells each tenant's endpoints. Required.
	Endpoints EndpointSource
	// Client sends the requests. Default: an http.Client that does not
	// follow redirects and connects directly (no proxy from the
	// environment), checking every address it connects to (see
	// AllowPrivateDestinations). Per-attempt timeouts come from
	// AttemptTimeout, not from Client.Timeout. A Client of yours gets the
	// same check in a copy of its *http.Transport; NewHTTPSink refuses one
	// whose transport has its own proxy or dialer, or is not an
	// *http.Transport, unless AllowPrivateDestinations is set.
	Client *http.Client
	// AllowPrivateDestinations lets deliveries go to any address. By default
	// (false) the sink connects only to public addresses: an endpoint whose
	// host resolves to a loopback, private (10/8, 172.16/12, 192.168/16,
	// fc00::/7), link-local (169.254/16 with the cloud metadata service,
	// fe80::/10), unspecified, multicast or other special-purpose address
	// fails with ErrForbiddenDestination, not retried. The address is
	// checked when the connection is made, after DNS resolution, so a name
	// that resolves differently later (DNS rebinding) cannot get past it.
	// This matters most when tenants' admins set their own URLs
	// (EndpointSource): otherwise they could make your server POST to
	// services only it can reach. Set it when you deliver inside your own
	// network, or when Client's transport guards destinations itself (an
	// egress proxy that refuses internal addresses, or a dialer with
	// CheckDestination as its Control).
	AllowPrivateDestinations bool
	// UserAgent is the User-Agent header. Default "otpreset-webhook/1.0".
	UserAgent string
	// Workers is how many deliveries run at once. Default 4.
	Workers int
	// QueueSize bounds the deliveries waiting for a worker or for their next
	// retry (in-flight ones not counted). Default 1024.
	QueueSize int
	// QueueFull is the policy when the queue is full. Default
	// QueueFullReject.
	QueueFull QueueFullPolicy
	// AttemptTimeout bounds one HTTP request, answer headers included.
	// Default 15 s (Standard Webhooks recommends 15 to 30 s).
	AttemptTimeout time.Duration
	// MaxAttempts is how many requests a delivery gets, the first included.
	// Default 10.
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the wait before retry n (n = 1, 2,
	// ...): a uniformly random duration in [0, min(MaxBackoff,
	// BaseBackoff*2^(n-1))] ("full jitter"). A Retry-After answer replaces
	// that wait, capped at MaxBackoff. Defaults 5 s and 10 min: ten tries
	// span about a quarter of an hour on average.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Clock stamps attempts (webhook-timestamp) and reads Retry-After
	// dates: any value with a Now method, such as an otpreset.Clock. Nil
	// means the system clock. When it also has a method
	// After(d time.Duration) <-chan time.Time, the waits between retries
	// use it, so that a test's fake clock can fire them at once.
	Clock interface{ Now() time.Time }
	// Random is the jitter's source. Default: math/rand/v2's global source.
	Random rand.Source
	// OnDeadLetter receives every delivery that will not be tried again,
	// from a worker goroutine (or from Emit, for an eviction); it should be
	// quick. Whether or not it is set, each one is also logged at Error
	// level.
	OnDeadLetter func(DeadLetter)
	// Logger receives one line per delivery, retry and failure, with the
	// event id, tenant, endpoint host, attempt and status; never a secret,
	// a URL path or query, or the payload. Nil means slog.Default().
	Logger *slog.Logger
}

// HTTPSink is a Sink that POSTs each event as JSON to its tenant's
// endpoints, signed with signature.Sign, from a pool of workers. Emit only
// queues; Close drains. Create it with NewHTTPSink.
type HTTPSink struct {
	endpoints      EndpointSource
	client         *http.Client
	transport      *http.Transport // the sink's own, whose idle connections Close closes; nil for the host's
	userAgent      string
	queueSize      int
	policy         QueueFullPolicy
	attemptTimeout time.Duration
	maxAttempts    int
	baseBackoff    time.Duration
	maxBackoff     time.Duration
	clock          clock
	onDeadLetter   func(DeadLetter)
	log            *slog.Logger

	randMu sync.Mutex
	rnd    *rand.Rand // nil: the global source

	baseCtx    context.Context // canceled by abort: ends in-flight requests
	cancelBase context.CancelFunc
	abortCh    chan struct{}
	abortOnce  sync.Once
	drained    chan struct{}
	wg         sync.WaitGroup // workers and retry timers

	mu       sync.Mutex
	cond     *sync.Cond
	ready    []*job // FIFO of deliveries waiting for a worker
	waiting  map[*job]struct{}
	inflight int
	seq      uint64
	closed   bool // no more Emit
	stopping bool // workers exit once ready is empty
	aborted  bool
	isDrain  bool // drained has been closed

	accepted, delivered, retried, failed, dropped, rejected atomic.Uint64
}

// job is one delivery: an event's body to one endpoint.
type job struct {
	seq      uint64
	eventID  string
	tenantID string
	body     []byte
	ep       Endpoint
	host     string
	invalid  error // the endpoint failed validation: dead-letter, no request
	attempts int
	stop     chan struct{}           // closed when evicted while waiting to retry
	done     func(j *job, err error) // set by Dispatcher: told the outcome instead of OnDeadLetter
}

// NewHTTPSink starts an HTTPSink's workers. Call Close to stop them.
func NewHTTPSink(cfg HTTPSinkConfig) (*HTTPSink, error) {
	if cfg.Endpoints == nil {
		return nil, fmt.Errorf("%w: Endpoints is required", ErrInvalidConfig)
	}
	if cfg.QueueFull != QueueFullReject && cfg.QueueFull != QueueFullDropOldest {
		return nil, fmt.Errorf("%w: unknown QueueFull policy %d", ErrInvalidConfig, cfg.QueueFull)
	}
	if static, ok := cfg.Endpoints.(StaticEndpoints); ok {
		for tenant, eps := range static {
			for i, ep := range eps {
				if err := ep.Validate(); err != nil {
					return nil, fmt.Errorf("%w: tenant %q endpoint %d: %w", ErrInvalidConfig, tenant, i, err)
				}
			}
		}
	}
	s := &HTTPSink{
		endpoints:      cfg.Endpoints,
		userAgent:      orDefault(cfg.UserAgent, defaultUserAgent),
		queueSize:      orDefault(cfg.QueueSize, defaultQueueSize),
		policy:         cfg.QueueFull,
		attemptTimeout: orDefault(cfg.AttemptTimeout, defaultAttemptTimeout),
		maxAttempts:    orDefault(cfg.MaxAttempts, defaultMaxAttempts),
		baseBackoff:    orDefault(cfg.BaseBackoff, defaultBaseBackoff),
		maxBackoff:     orDefault(cfg.MaxBackoff, defaultMaxBackoff),
		clock:          clockOf(cfg.Clock),
		onDeadLetter:   cfg.OnDeadLetter,
		log:            cfg.Logger,
		abortCh:        make(chan struct{}),
		drained:        make(chan struct{}),
		waiting:        map[*job]struct{}{},
	}
	if s.baseBackoff > s.maxBackoff {
		return nil, fmt.Errorf("%w: BaseBackoff %s exceeds MaxBackoff %s", ErrInvalidConfig, s.baseBackoff, s.maxBackoff)
	}
	client, transport, err := deliveryClient(cfg)
	if err != nil {
		return nil, err
	}
	s.client, s.transport = client, transport
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.Random != nil {
		s.rnd = rand.New(cfg.Random)
	}
	s.cond = sync.NewCond(&s.mu)
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	workers := orDefault(cfg.Workers, defaultWorkers)
	s.wg.Add(workers)
	for range workers {
		go s.work()
	}
	return s, nil
}

func orDefault[T int | time.Duration | string](v, def T) T {
	var zero T
	if v <= zero {
		return def
	}
	return v
}

// Emit queues e for each of its tenant's endpoints and returns at once; it
// never waits on the network, and the delivery does not depend on ctx (which
// is only passed to the EndpointSource). It returns an error wrapping
// ErrQueueFull (QueueFullReject), ErrClosed, ErrInvalidEvent, or the
// EndpointSource's error when the event was not accepted. A tenant without
// endpoints is not an error: there is nothing to deliver.
func (s *HTTPSink) Emit(ctx context.Context, e Event) error {
	if e.ID == "" || e.TenantID == "" {
		s.rejected.Add(1)
		return fmt.Errorf("%w: ID and TenantID are required", ErrInvalidEvent)
	}
	body, err := e.Payload()
	if err != nil {
		s.rejected.Add(1)
		return fmt.Errorf("%w: payload: %w", ErrInvalidEvent, err)
	}
	eps, err := s.endpoints.Endpoints(ctx, e.TenantID)
	if err != nil {
		s.rejected.Add(1)
		return fmt.Errorf("webhook: endpoints of the tenant: %w", err)
	}
	if len(eps) == 0 {
		s.log.Debug("webhook: tenant has no endpoint", "event_id", e.ID, "tenant", e.TenantID)
		return nil
	}
	if err := s.enqueue(s.newJobs(e.ID, e.TenantID, body, eps, nil), s.policy); err != nil {
		s.rejected.Add(1)
		s.log.Warn("webhook: event refused", "event_id", e.ID, "tenant", e.TenantID, "error", err)
		return err
	}
	return nil
}

func (s *HTTPSink) newJobs(id, tenant string, body []byte, eps []Endpoint, done func(*job, error)) []*job {
	jobs := make([]*job, len(eps))
	for i, ep := range eps {
		jobs[i] = &job{
			eventID: id, tenantID: tenant, body: body, ep: ep, host: ep.host(),
			invalid: ep.Validate(), stop: make(chan struct{}), done: done,
		}
	}
	return jobs
}

// enqueue accepts all of jobs or none of them.
func (s *HTTPSink) enqueue(jobs []*job, policy QueueFullPolicy) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	var evicted []*job
	if need := len(jobs) - (s.queueSize - len(s.ready) - len(s.waiting)); need > 0 {
		if policy != QueueFullDropOldest || len(jobs) > s.queueSize {
			s.mu.Unlock()
			return fmt.Errorf("%w: %d deliveries queued", ErrQueueFull, s.queueSize)
		}
		for range need {
			evicted = append(evicted, s.evictOldestLocked())
		}
	}
	for _, j := range jobs {
		s.seq++
		j.seq = s.seq
		s.ready = append(s.ready, j)
		s.cond.Signal()
	}
	s.accepted.Add(uint64(len(jobs)))
	s.mu.Unlock()
	for _, j := range evicted {
		s.dropped.Add(1)
		s.report(j, fmt.Errorf("%w after %d attempt(s)", ErrDropped, j.attempts))
	}
	return nil
}

// evictOldestLocked removes the earliest accepted delivery that is waiting
// for a worker or a retry. The queue is full, so there is one.
func (s *HTTPSink) evictOldestLocked() *job {
	var oldest *job
	at := -1
	for i, j := range s.ready {
		if oldest == nil || j.seq < oldest.seq {
			oldest, at = j, i
		}
	}
	for j := range s.waiting {
		if oldest == nil || j.seq < oldest.seq {
			oldest, at = j, -1
		}
	}
	if at >= 0 {
		s.ready = slices.Delete(s.ready, at, at+1)
	} else {
		delete(s.waiting, oldest)
		close(oldest.stop)
	}
	return oldest
}

func (s *HTTPSink) work() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		for len(s.ready) == 0 && !s.stopping {
			s.cond.Wait()
		}
		if len(s.ready) == 0 {
			s.mu.Unlock()
			return
		}
		j := s.ready[0]
		s.ready[0] = nil
		s.ready = s.ready[1:]
		s.inflight++
		s.mu.Unlock()
		s.run(j)
	}
}

// run makes one attempt of j and decides what follows: done, a retry, or a
// dead letter.
func (s *HTTPSink) run(j *job) {
	log := s.log.With("event_id", j.eventID, "tenant", j.tenantID, "endpoint", j.host)
	if j.invalid != nil {
		s.failed.Add(1)
		err := fmt.Errorf("%w: %w", ErrDeliveryFailed, j.invalid)
		log.Error("webhook: endpoint invalid, not delivered", "error", err)
		s.finish(j, err)
		return
	}
	j.attempts++
	o := s.attempt(j)
	log = log.With("attempt", j.attempts, "status", o.status)
	if o.err == nil {
		s.delivered.Add(1)
		log.Info("webhook: delivered")
		s.finish(j, nil)
		return
	}
	if o.retryable && !s.isAborted() && j.attempts < s.maxAttempts {
		delay := s.retryDelay(j.attempts, o)
		s.mu.Lock()
		if !s.aborted {
			s.inflight--
			s.waiting[j] = struct{}{}
			s.wg.Add(1)
			go s.wait(j, delay)
			s.mu.Unlock()
			s.retried.Add(1)
			log.Warn("webhook: attempt failed, will retry", "retry_in", delay, "error", o.err)
			return
		}
		s.mu.Unlock()
	}
	if o.retryable && s.isAborted() {
		// Most likely the request was canceled by Close: not the endpoint's
		// failure.
		s.dropped.Add(1)
		err := fmt.Errorf("%w during attempt %d: %w", ErrClosed, j.attempts, o.err)
		log.Error("webhook: delivery abandoned at shutdown", "error", err)
		s.finish(j, err)
		return
	}
	s.failed.Add(1)
	err := fmt.Errorf("%w after %d attempt(s): %w", ErrDeliveryFailed, j.attempts, o.err)
	log.Error("webhook: delivery failed", "retryable", o.retryable, "error", err)
	s.finish(j, err)
}

func (s *HTTPSink) isAborted() bool {
	select {
	case <-s.abortCh:
		return true
	default:
		return false
	}
}

// wait puts j back in the ready queue after d, unless it was evicted or the
// sink aborted meanwhile (whoever removed it from waiting reports it).
func (s *HTTPSink) wait(j *job, d time.Duration) {
	defer s.wg.Done()
	select {
	case <-s.clock.after(d):
	case <-j.stop:
		return
	case <-s.abortCh:
		return
	}
	s.mu.Lock()
	if _, ok := s.waiting[j]; ok {
		delete(s.waiting, j)
		s.ready = append(s.ready, j)
		s.cond.Signal()
	}
	s.mu.Unlock()
}

// finish reports the outcome of an in-flight job, then lets Close see it
// gone, so that Close returns only after every callback ran.
func (s *HTTPSink) finish(j *job, err error) {
	s.report(j, err)
	s.mu.Lock()
	s.inflight--
	s.checkDrainedLocked()
	s.mu.Unlock()
}

// report tells j's outcome to its Dispatcher, or a failure to deadLetter.
func (s *HTTPSink) report(j *job, err error) {
	if j.done != nil {
		j.done(j, err)
		return
	}
	if err != nil {
		s.deadLetter(j, err)
	}
}

// deadLetter logs a delivery that will not be tried again and hands it to
// OnDeadLetter.
func (s *HTTPSink) deadLetter(j *job, err error) {
	s.log.Error("webhook: dead letter", "event_id", j.eventID, "tenant", j.tenantID,
		"endpoint", j.host, "attempts", j.attempts, "error", err)
	if s.onDeadLetter != nil {
		s.onDeadLetter(DeadLetter{
			EventID: j.eventID, TenantID: j.tenantID, URL: j.ep.URL,
			Payload: j.body, Attempts: j.attempts, Err: err,
		})
	}
}

func (s *HTTPSink) checkDrainedLocked() {
	if s.closed && !s.isDrain && len(s.ready) == 0 && len(s.waiting) == 0 && s.inflight == 0 {
		s.isDrain = true
		close(s.drained)
	}
}

// Close stops accepting events (Emit then returns ErrClosed) and waits until
// every accepted delivery is done, retries included, or until ctx ends. In
// the latter case it cancels the requests in flight, hands every unfinished
// delivery to the dead-letter callback with ErrClosed, and returns an error
// wrapping ctx's. Either way the workers have stopped when Close returns.
// Close may be called more than once.
func (s *HTTPSink) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.checkDrainedLocked()
	s.mu.Unlock()
	var err error
	select {
	case <-s.drained:
	default:
		select {
		case <-s.drained:
		case <-ctx.Done():
			s.abort()
			err = fmt.Errorf("webhook: close before every delivery finished: %w", ctx.Err())
		}
	}
	s.mu.Lock()
	s.stopping = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.wg.Wait()
	if s.transport != nil {
		s.transport.CloseIdleConnections()
	}
	return err
}

func (s *HTTPSink) abort() {
	s.abortOnce.Do(func() {
		s.mu.Lock()
		s.aborted = true
		close(s.abortCh)
		s.cancelBase()
		left := append([]*job(nil), s.ready...)
		for j := range s.waiting {
			left = append(left, j)
		}
		s.ready, s.waiting = nil, map[*job]struct{}{}
		s.mu.Unlock()
		slices.SortFunc(left, func(a, b *job) int { return cmp.Compare(a.seq, b.seq) })
		for _, j := range left {
			s.dropped.Add(1)
			s.report(j, fmt.Errorf("%w after %d attempt(s)", ErrClosed, j.attempts))
		}
		s.mu.Lock()
		s.checkDrainedLocked()
		s.mu.Unlock()
	})
}

// Stats returns the counters.
func (s *HTTPSink) Stats() Stats {
	return Stats{
		Accepted:  s.accepted.Load(),
		Delivered: s.delivered.Load(),
		Retried:   s.retried.Load(),
		Failed:    s.failed.Load(),
		Dropped:   s.dropped.Load(),
		Rejected:  s.rejected.Load(),
	}
}
