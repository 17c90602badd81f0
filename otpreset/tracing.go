package otpreset

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracerName is the instrumentation scope of otpreset's spans.
const tracerName = "github.com/otpreset/go/otpreset"

// noSpan is what startSpan returns when tracing is off: it records nothing
// and costs nothing to end.
var noSpan = trace.SpanFromContext(context.Background())

// startSpan starts a child of the request's span named name, when a
// TracerProvider is configured. Attributes never hold a phone number, a
// code, a password, a token or a hash: only names, counts and outcomes.
func (f *flow) startSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if f.tracer == nil {
		return ctx, noSpan
	}
	return f.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
}

// endSpan ends span, recording err (a fault, not a refusal) on it.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
