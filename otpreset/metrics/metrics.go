// Package metrics exports otpreset's counts and timings to Prometheus. It is
// optional: a host that does not import it pulls in no Prometheus code.
//
//	m := metrics.New(prometheus.DefaultRegisterer)
//	h, _ := otpreset.New(otpreset.Config{..., Observer: m})
//	sink, _ := webhook.NewHTTPSink(webhook.HTTPSinkConfig{...})
//	metrics.RegisterWebhooks(prometheus.DefaultRegisterer, sink.Stats)
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/otpreset/go/webhook"
)

// Metrics implements otpreset.Observer with Prometheus collectors.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	sms      *prometheus.CounterVec
	lockouts *prometheus.CounterVec
	captcha  *prometheus.CounterVec
	hash     prometheus.Histogram
}

// New creates the collectors and registers them with reg (nil: not
// registered, for tests that gather them directly).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otpreset_requests_total", Help: "Requests answered, by endpoint, HTTP status and LoginRadius ErrorCode (0 for success).",
		}, []string{"endpoint", "status", "error_code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "otpreset_request_duration_seconds", Help: "Time to answer, by endpoint.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"endpoint"}),
		sms: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otpreset_sms_total", Help: "SMS by outcome: sent, failed, pending, unknown_phone, refused, capped (codes); notice_sent, notice_failed (the notice after a reset).",
		}, []string{"tenant", "outcome"}),
		lockouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otpreset_lockouts_total", Help: "Phones locked after too many failed codes.",
		}, []string{"tenant"}),
		captcha: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otpreset_captcha_failures_total", Help: "Refused captchas by reason: missing, rejected, unavailable.",
		}, []string{"tenant", "reason"}),
		hash: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "otpreset_password_hash_seconds", Help: "Time to hash a new password, including the wait for a hashing slot.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.sms, m.lockouts, m.captcha, m.hash)
	}
	return m
}

// Answered implements otpreset.Observer.
func (m *Metrics) Answered(endpoint string, status, errorCode int, took time.Duration) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(status), strconv.Itoa(errorCode)).Inc()
	m.latency.WithLabelValues(endpoint).Observe(took.Seconds())
}

// SMS implements otpreset.Observer.
func (m *Metrics) SMS(tenantID, outcome string) { m.sms.WithLabelValues(tenantID, outcome).Inc() }

// Lockout implements otpreset.Observer.
func (m *Metrics) Lockout(tenantID string) { m.lockouts.WithLabelValues(tenantID).Inc() }

// CaptchaFailed implements otpreset.Observer.
func (m *Metrics) CaptchaFailed(tenantID, reason string) {
	m.captcha.WithLabelValues(tenantID, reason).Inc()
}

// Hashed implements otpreset.Observer.
func (m *Metrics) Hashed(took time.Duration) { m.hash.Observe(took.Seconds()) }

// RegisterWebhooks exports a webhook sink's counters (webhook.HTTPSink.Stats
// or webhook.Dispatcher's) as otpreset_webhook_deliveries_total{outcome},
// read at scrape time.
func RegisterWebhooks(reg prometheus.Registerer, stats func() webhook.Stats) error {
	outcomes := map[string]func(webhook.Stats) uint64{
		"accepted":  func(s webhook.Stats) uint64 { return s.Accepted },
		"delivered": func(s webhook.Stats) uint64 { return s.Delivered },
		"retried":   func(s webhook.Stats) uint64 { return s.Retried },
		"failed":    func(s webhook.Stats) uint64 { return s.Failed },
		"dropped":   func(s webhook.Stats) uint64 { return s.Dropped },
		"rejected":  func(s webhook.Stats) uint64 { return s.Rejected },
	}
	for outcome, pick := range outcomes {
		c := prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "otpreset_webhook_deliveries_total",
			Help:        "Webhook deliveries by outcome: accepted, delivered, retried, failed, dropped, rejected.",
			ConstLabels: prometheus.Labels{"outcome": outcome},
		}, func() float64 { return float64(pick(stats())) })
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
