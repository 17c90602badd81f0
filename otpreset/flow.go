package otpreset

import (
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// flow is what the steps of both endpoints share: the checked configuration
// and what New built from it. The steps live in the files named for their
// concern (request, rate, captcha, caps, lockout, send, reset); Handler runs
// them.
type flow struct {
	cfg      Config
	log      *slog.Logger
	tenants  *tenants
	counters counters // rate limits and SMS caps (the limiter store)
	codes    *codeHasher
	tracer   trace.Tracer // nil: tracing off, no cost
	observed bool         // an Observer was configured: requests are timed
}
