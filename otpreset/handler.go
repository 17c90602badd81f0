package otpreset

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/webhook"
)

// Handler serves both endpoints of the flow. Create it with New; it is safe
// for concurrent use.
type Handler struct {
	flow
}

// New checks cfg and every tenant of a static Tenants map, applies the
// defaults and returns the handler. Every refusal wraps ErrInvalidConfig.
func New(cfg Config) (*Handler, error) {
	if err := checkConfig(&cfg); err != nil {
		return nil, err
	}
	if cfg.Hasher == nil {
		cfg.Hasher = password.NewArgon2idHasher(nil, 0)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Tokens == nil {
		cfg.Tokens = randomTokens{rand: cfg.Rand}
	}
	if cfg.Webhooks == nil {
		cfg.Webhooks = webhook.Discard
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = scrubbedLogger(cfg.Logger) // every error logged is scrubbed (scrub.go)
	cfg.MaxBodyBytes = orDefault(cfg.MaxBodyBytes, defaultMaxBodyBytes)
	cfg.MinSendDuration = orDefault(cfg.MinSendDuration, defaultMinSendDuration)
	cfg.SendTimeout = orDefault(cfg.SendTimeout, defaultSendTimeout)
	cfg.ApplyTimeout = orDefault(cfg.ApplyTimeout, defaultApplyTimeout)
	cfg.IPv6PrefixBits = orDefault(cfg.IPv6PrefixBits, defaultIPv6PrefixBits)
	observed := cfg.Observer != nil
	if !observed {
		cfg.Observer = nopObserver{}
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteIP
	}
	cfg.Secret = append([]byte(nil), cfg.Secret...)
	log := cfg.Logger.With("component", "otpreset")
	ts, err := newTenants(cfg.Tenants, cfg.Secret, log)
	if err != nil {
		return nil, err
	}
	h := &Handler{flow{cfg: cfg, log: log, tenants: ts, counters: newCounters(cfg.RateLimitStore),
		codes: newCodeHasher(cfg.Secret)}}
	if cfg.TracerProvider != nil {
		h.tracer = cfg.TracerProvider.Tracer(tracerName)
	}
	h.observed = observed
	return h, nil
}

// checkConfig refuses what New cannot work with.
func checkConfig(cfg *Config) error {
	var problems []error
	bad := func(s string) { problems = append(problems, errors.New(s)) }
	if isNil(cfg.Store) {
		bad("Config.Store is required")
	}
	if isNil(cfg.Sender) {
		bad("Config.Sender is required")
	}
	if isNil(cfg.Tenants) {
		bad("Config.Tenants is required")
	}
	if len(cfg.Secret) < 32 {
		bad("Config.Secret must be at least 32 bytes")
	} else if err := checkSecret(cfg.Secret); err != nil {
		problems = append(problems, err)
	}
	for _, d := range []struct {
		name string
		v    int64
	}{{"MaxBodyBytes", cfg.MaxBodyBytes}, {"SendTimeout", int64(cfg.SendTimeout)}, {"ApplyTimeout", int64(cfg.ApplyTimeout)}} {
		if d.v < 0 {
			bad("Config." + d.name + " must not be negative")
		}
	}
	if cfg.IPv6PrefixBits < 0 || cfg.IPv6PrefixBits > 128 {
		bad("Config.IPv6PrefixBits must be 0 to 128")
	}
	if cfg.WebhookOutbox && !isNil(cfg.Store) {
		_, okR := cfg.Store.(store.Resetter)
		_, okO := cfg.Store.(store.Outbox)
		if !okR || !okO {
			problems = append(problems, store.ErrOutboxUnsupported)
		}
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// ServeHTTP routes POST (send a code) and PUT (reset the password) on any
// path that ends with Path, so the handler works at the root of a mux, under
// a gorilla/mux subrouter or behind http.StripPrefix alike. It is the one
// place that writes an answer.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var start time.Time
	if h.observed { // reading the clock twice is a tenth of a refusal's cost
		start = time.Now()
	}
	span := noSpan
	if h.tracer != nil {
		var ctx context.Context
		ctx, span = h.tracer.Start(r.Context(), requestSpanName(r), trace.WithSpanKind(trace.SpanKindServer))
		r = r.WithContext(ctx)
	}
	endpoint, x, body, err := h.serve(r)
	if x != nil {
		setRateHeaders(w.Header(), x.rate)
	}
	var encoded []byte
	if err == nil {
		encoded, err = json.Marshal(body)
	}
	if err != nil {
		refusal := h.refusal(x, err)
		writeAPIError(w, refusal)
		h.answered(span, endpoint, x, refusal.Status, refusal.ErrorCode, start)
		return
	}
	w.Header()["Content-Type"] = headerJSON
	w.Header()["Cache-Control"] = headerNoStore
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(encoded)
	h.answered(span, endpoint, x, http.StatusOK, 0, start)
}

// answered reports the answer to the Observer and on the request's span.
func (h *Handler) answered(span trace.Span, endpoint string, x *exchange, status, errorCode int, start time.Time) {
	if h.observed {
		h.cfg.Observer.Answered(endpoint, status, errorCode, time.Since(start))
	}
	if h.tracer == nil {
		return
	}
	span.SetAttributes(attribute.String("otpreset.endpoint", endpoint),
		attribute.Int("http.response.status_code", status), attribute.Int("otpreset.error_code", errorCode))
	if x != nil {
		span.SetAttributes(attribute.String("otpreset.tenant", x.t.ID))
	}
	if status >= 500 {
		span.SetStatus(codes.Error, "ErrorCode "+strconv.Itoa(errorCode))
	}
	span.End()
}

// serve runs the endpoint's pipeline and returns its answer: a body to send
// with 200, or the error that ends it (a refusal, or a fault). A panic
// becomes a logged 950, never a stack trace or an empty 500;
// http.ErrAbortHandler keeps its meaning.
func (h *Handler) serve(r *http.Request) (endpoint string, x *exchange, body any, err error) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("panic serving request", "panic", fmt.Sprint(v))
			body, err = nil, errInternal
		}
	}()
	if !strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), Path) {
		return "other", nil, nil, errNotFound
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		return "other", nil, nil, errMethod
	}
	endpoint = "send"
	if r.Method == http.MethodPut {
		endpoint = "reset"
	}
	t, q, fields, err := h.begin(r)
	if err != nil {
		return endpoint, nil, nil, err
	}
	x0 := exchange{r: r, ctx: r.Context(), query: q, body: fields, t: t, logBase: h.log}
	if endpoint == "send" {
		sd := &sending{exchange: x0}
		body, err = h.send(sd)
		return endpoint, &sd.exchange, body, err
	}
	rs := &resetting{exchange: x0}
	body, err = h.reset(rs)
	return endpoint, &rs.exchange, body, err
}

// refusal is the answer to err: the refusal itself, or 950 for a fault,
// which is logged here (with its step), never shown.
func (h *Handler) refusal(x *exchange, err error) *apiError {
	// A refusal is logged here, once, with the reason its step gave.
	log, step := h.log, "answer"
	// The usual cases, a refusal returned as it is, without errors.As
	// (whose target escapes: an allocation per refusal).
	switch e := err.(type) {
	case *apiError:
		return e
	case *refusal:
		h.logRefusal(x, e)
		return e.answer
	}
	if x != nil {
		log = x.logger()
	}
	var answer *apiError
	if errors.As(err, &answer) && answer != nil {
		return answer
	}
	var f *fault
	if errors.As(err, &f) {
		step = f.step
	}
	switch {
	case errors.Is(err, context.Canceled):
		// The client went away; nothing useful can be written.
		log.Error("request cancelled", "step", step)
	case errors.Is(err, ErrInvalidConfig):
		// Logged once, when the tenant was first resolved.
	default:
		log.Error("server fault", "step", step, "err", faultText(x, err))
	}
	return errInternal
}

// logRefusal logs a refusal with the reason its step gave, building nothing
// (no attributes, no request logger) for a line the logger drops.
func (h *Handler) logRefusal(x *exchange, e *refusal) {
	level := slog.LevelInfo
	if e.answer.Status == http.StatusTooManyRequests || e.answer.ErrorCode == 1198 {
		level = slog.LevelWarn
	}
	ctx := context.Background()
	switch {
	case x == nil:
		if h.log.Enabled(ctx, level) {
			h.log.Log(ctx, level, "refused", "reason", e.reason)
		}
	case x.logEnabled(level):
		x.logger().Log(ctx, level, "refused", "reason", e.reason)
	}
}

// setRateHeaders writes X-RateLimit-* for the tightest limit seen.
func setRateHeaders(h http.Header, r limitResult) {
	if r.limit == 0 {
		return
	}
	h.Set("X-RateLimit-Limit", strconv.FormatInt(r.limit, 10))
	h.Set("X-RateLimit-Remaining", strconv.FormatInt(r.remaining, 10))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(r.reset.Unix(), 10))
}

// Header values every error answer carries, shared so that writing them
// allocates nothing (Header.Set allocates a slice per call). Capacity equals
// length, so a later Header.Add copies instead of writing into them.
var (
	headerJSON    = []string{"application/json"}[:1:1]
	headerNoStore = []string{"no-store"}[:1:1]
	headerAllow   = []string{"POST, PUT"}[:1:1]
)

func writeAPIError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h["Content-Type"] = headerJSON
	h["Cache-Control"] = headerNoStore
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Status == http.StatusMethodNotAllowed {
		h["Allow"] = headerAllow
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(e.encode())
}
