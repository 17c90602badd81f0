package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/otpreset/go/internal/scrub"
)

// Failover is a Sender that tries Senders in order, each within Timeout,
// and returns the first success. When all fail, the error is a
// *FailoverError holding each one's error. It stops early when ctx is done.
// Zero fields take the defaults documented on them; a Failover is safe for
// concurrent use.
//
// Put a Retry inside (Failover{Senders: {&Retry{Sender: a}, b}}) to insist on
// a before moving on, or outside to go round the whole chain again.
type Failover struct {
	// Senders are tried in order.
	Senders []Sender
	// Timeout bounds each sender's turn; default 10 s.
	Timeout time.Duration
	// Logger receives a warning per failed sender (phone masked, no
	// code). Nil means slog.Default().
	Logger *slog.Logger
}

// Send tries each sender in turn.
func (f *Failover) Send(ctx context.Context, m Message) (Receipt, error) {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	fe := &FailoverError{}
	for i, s := range f.Senders {
		if err := ctx.Err(); err != nil {
			fe.Errs = append(fe.Errs, err)
			break
		}
		sctx, cancel := context.WithTimeout(ctx, timeout)
		rc, err := s.Send(sctx, m)
		cancel()
		if err == nil {
			return rc, nil
		}
		err = fmt.Errorf("sender %d (%T): %w", i+1, s, err)
		fe.Errs = append(fe.Errs, err)
		if i < len(f.Senders)-1 {
			f.logger().LogAttrs(ctx, slog.LevelWarn, "sms: sender failed, trying the next",
				slog.String("to", MaskPhone(m.To)), slog.String("tenant", m.TenantID),
				slog.Int("sender", i+1), slog.String("error", scrub.Error(err)))
		}
	}
	if len(f.Senders) == 0 {
		fe.Errs = append(fe.Errs, errors.New("no senders configured"))
	}
	return Receipt{}, fe
}

func (f *Failover) logger() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.Default()
}

// FailoverError is the failure of every sender of a Failover. errors.Is and
// errors.As look into each sender's error; it always matches ErrSendFailed.
type FailoverError struct {
	// Errs holds each tried sender's error, in order.
	Errs []error
}

func (e *FailoverError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("%v: all senders failed: %s", ErrSendFailed, strings.Join(msgs, "; "))
}

// Unwrap returns ErrSendFailed and each sender's error.
func (e *FailoverError) Unwrap() []error { return append([]error{ErrSendFailed}, e.Errs...) }

// Retryable reports whether going round the chain again may help: whether
// any sender failed retryably.
func (e *FailoverError) Retryable() bool {
	for _, err := range e.Errs {
		if IsRetryable(err) {
			return true
		}
	}
	return false
}
