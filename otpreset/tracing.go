package otpreset

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/otpreset/go/internal/scrub"
	"github.com/otpreset/go/otpreset/password"
)

// tracerName is the instrumentation scope of otpreset's spans.
const tracerName = "github.com/otpreset/go/otpreset"

// noSpan is what startSpan returns when tracing is off: it records nothing
// and costs nothing to end.
var noSpan = trace.SpanFromContext(context.Background())

// Names of the request's span: one per endpoint, whatever the request holds.
const (
	spanSend  = "otpreset send"
	spanReset = "otpreset reset"
	spanOther = "otpreset other"
)

// requestSpanName names the request's span from its method and path alone,
// as ServeHTTP routes it, before anything else is read: a fixed string, never
// anything of the request's own (a method can be any token of any length).
func requestSpanName(r *http.Request) string {
	if !strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), Path) {
		return spanOther
	}
	switch r.Method {
	case http.MethodPost:
		return spanSend
	case http.MethodPut:
		return spanReset
	}
	return spanOther
}

// startSpan starts a child of the request's span named name, when a
// TracerProvider is configured. Attributes never hold a phone number, a
// code, a password, a token or a hash: only names, counts and outcomes. The
// span of a step that is handed the password ("password.*") records a
// fault's kind, never its message (see endSpan).
func (f *flow) startSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if f.tracer == nil {
		return ctx, noSpan
	}
	ctx, span := f.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
	if strings.HasPrefix(name, "password.") {
		return ctx, passwordSpan{span}
	}
	return ctx, span
}

// passwordSpan is the span of a step that is handed the password (a hasher,
// a breach checker): its faults' messages, which could echo it, are not
// recorded.
type passwordSpan struct{ trace.Span }

// endSpan ends span, recording err (a fault, not a refusal) on it: an
// "exception" event with the error's type and scrubbed message (OpenTelemetry's
// semantic conventions, as Span.RecordError would, minus the raw text), and
// the same message as the span's status.
func endSpan(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		msg := faultMessage(span, err)
		span.AddEvent("exception", trace.WithAttributes(
			attribute.String("exception.type", scrub.Bound(errorType(err))),
			attribute.String("exception.message", msg)))
		span.SetStatus(codes.Error, msg)
	}
	span.End()
}

// faultMessage is what a span may say of err.
func faultMessage(span trace.Span, err error) string {
	if _, ok := span.(passwordSpan); !ok {
		return scrub.Error(err)
	}
	// The causes the library names itself, which hold nothing of the password.
	for _, known := range []error{password.ErrUnavailable, context.DeadlineExceeded, context.Canceled} {
		if errors.Is(err, known) {
			return known.Error() + " (message withheld: the step handles the password)"
		}
	}
	return "fault (message withheld: the step handles the password)"
}

// errorType is the name of err's type as OpenTelemetry's SDK writes it.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.PkgPath() == "" && t.Name() == "" {
		return t.String()
	}
	return fmt.Sprintf("%s.%s", t.PkgPath(), t.Name())
}
