package otpreset

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/otpreset/go/internal/scrub"
	"github.com/otpreset/go/otpreset/password"
)

// Errors leave the process in two places: log lines and spans. Both go
// through internal/scrub, here for the logger (scrubHandler wraps
// Config.Logger's handler, so every log line of the package is covered) and
// in tracing.go for spans (endSpan). An error's text comes from host code (a
// store, a sender, a captcha verifier, a breach checker, a hook) and may
// carry a phone number, a code, a token or, from the steps that are handed
// it, the password: scrub masks the first, removes what looks like the
// next two, and the password is removed by value where the request is known
// (Handler.refusal) and never recorded on the spans of the steps that
// receive it.

// scrubbedError is an error whose text went through the scrubber already;
// scrubHandler passes it on as it is.
type scrubbedError string

func (e scrubbedError) Error() string { return string(e) }

// scrubbedLogger returns l with every log line going through scrubHandler.
func scrubbedLogger(l *slog.Logger) *slog.Logger {
	if _, ok := l.Handler().(scrubHandler); ok || l.Handler() == slog.DiscardHandler {
		return l // scrubbed already, or nothing leaves (and With stays as cheap)
	}
	return slog.New(scrubHandler{next: l.Handler()})
}

// scrubHandler passes records to next with their error values, and the
// values of the keys "err", "error" and "panic", scrubbed (scrub.Text), and
// every other string value bounded to scrub.MaxLen bytes (a template name,
// say, comes from the client).
type scrubHandler struct{ next slog.Handler }

func (h scrubHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	dirty := false
	r.Attrs(func(a slog.Attr) bool {
		_, dirty = scrubAttr(a)
		return !dirty
	})
	if !dirty {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		a, _ = scrubAttr(a)
		out.AddAttrs(a)
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h scrubHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	scrubbed, copied := attrs, false
	for i, a := range attrs {
		if s, changed := scrubAttr(a); changed {
			if !copied {
				scrubbed, copied = append([]slog.Attr(nil), attrs...), true
			}
			scrubbed[i] = s
		}
	}
	next := h.next.WithAttrs(scrubbed)
	if next == slog.DiscardHandler {
		return next
	}
	return scrubHandler{next: next}
}

func (h scrubHandler) WithGroup(name string) slog.Handler {
	return scrubHandler{next: h.next.WithGroup(name)}
}

// scrubAttr returns a fit to leave the process, and whether that changed it.
func scrubAttr(a slog.Attr) (slog.Attr, bool) {
	v := a.Value.Resolve()
	errKey := a.Key == "err" || a.Key == "error" || a.Key == "panic"
	switch v.Kind() {
	case slog.KindGroup:
		group := v.Group()
		var out []slog.Attr
		for i, g := range group {
			if s, changed := scrubAttr(g); changed {
				if out == nil {
					out = append([]slog.Attr(nil), group...)
				}
				out[i] = s
			}
		}
		if out == nil {
			return a, false
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}, true
	case slog.KindString:
		s := v.String()
		if errKey {
			return slog.String(a.Key, scrub.Text(s)), true
		}
		if len(s) > scrub.MaxLen {
			return slog.String(a.Key, scrub.Bound(s)), true
		}
		return a, false
	case slog.KindAny:
		switch x := v.Any().(type) {
		case scrubbedError:
			return a, false
		case error:
			return slog.Any(a.Key, scrubbedError(scrub.Error(x))), true
		}
		if errKey {
			return slog.String(a.Key, scrub.Text(fmt.Sprint(v.Any()))), true
		}
	}
	return a, false
}

// faultText is err fit for the fault's log line: scrubbed, with the
// request's own secrets (the new password, as sent and as hashed, and the
// code) removed by value first.
func faultText(x *exchange, err error) scrubbedError {
	if x == nil || x.body == nil {
		return scrubbedError(scrub.Error(err))
	}
	pw := x.body["password"]
	return scrubbedError(scrub.Error(err, pw, password.Normalize(pw), x.body["otp"]))
}
