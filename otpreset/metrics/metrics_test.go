package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/metrics"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/webhook"
)

func TestMetricsFromRealRequests(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	env := otpresettest.New(t, func(c *otpreset.Config, _ *otpreset.Tenant) { c.Observer = m })
	env.AddUser("+919999999999", "old password 1")
	env.Send("+919999999999")
	env.Send("+14155550123")
	require.Equal(t, 200, env.Reset("+919999999999", env.Code("+919999999999"), "new password 1").Code)
	env.Reset("+919999999999", "000000", "new password 2")
	require.NoError(t, metrics.RegisterWebhooks(reg, func() webhook.Stats { return webhook.Stats{Accepted: 2, Delivered: 1, Retried: 3} }))

	expected := `
# HELP otpreset_requests_total Requests answered, by endpoint, HTTP status and LoginRadius ErrorCode (0 for success).
# TYPE otpreset_requests_total counter
otpreset_requests_total{endpoint="reset",error_code="0",status="200"} 1
otpreset_requests_total{endpoint="reset",error_code="1409",status="401"} 1
otpreset_requests_total{endpoint="send",error_code="0",status="200"} 2
# HELP otpreset_sms_total SMS by outcome: sent, failed, pending, unknown_phone, refused, capped (codes); notice_sent, notice_failed (the notice after a reset).
# TYPE otpreset_sms_total counter
otpreset_sms_total{outcome="notice_sent",tenant="test-tenant"} 1
otpreset_sms_total{outcome="sent",tenant="test-tenant"} 1
otpreset_sms_total{outcome="unknown_phone",tenant="test-tenant"} 1
# HELP otpreset_webhook_deliveries_total Webhook deliveries by outcome: accepted, delivered, retried, failed, dropped, rejected.
# TYPE otpreset_webhook_deliveries_total counter
otpreset_webhook_deliveries_total{outcome="accepted"} 2
otpreset_webhook_deliveries_total{outcome="delivered"} 1
otpreset_webhook_deliveries_total{outcome="dropped"} 0
otpreset_webhook_deliveries_total{outcome="failed"} 0
otpreset_webhook_deliveries_total{outcome="rejected"} 0
otpreset_webhook_deliveries_total{outcome="retried"} 3
`
	compare := func() error {
		return testutil.GatherAndCompare(reg, strings.NewReader(expected),
			"otpreset_requests_total", "otpreset_sms_total", "otpreset_webhook_deliveries_total")
	}
	// The notice after the reset goes out in the background: wait for it.
	assert.Eventually(t, func() bool { return compare() == nil }, 5*time.Second, 10*time.Millisecond)
	assert.NoError(t, compare())
	n, err := testutil.GatherAndCount(reg, "otpreset_password_hash_seconds")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}
