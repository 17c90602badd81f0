package sms_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/sms"
)

// statusErr is a provider answer as the module's senders report one.
type statusErr struct {
	status int
	wait   time.Duration
}

func (e *statusErr) Error() string             { return fmt.Sprintf("provider: HTTP %d", e.status) }
func (e *statusErr) Unwrap() error             { return sms.ErrSendFailed }
func (e *statusErr) Retryable() bool           { return e.status == 429 || e.status >= 500 }
func (e *statusErr) RetryAfter() time.Duration { return e.wait }

// script is a Sender answering with the next error of errs (nil: success).
type script struct {
	mu    sync.Mutex
	errs  []error
	calls int
	ctxs  []context.Context
}

func (s *script) Send(ctx context.Context, m sms.Message) (sms.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.ctxs = append(s.ctxs, ctx)
	var err error
	if len(s.errs) > 0 {
		err, s.errs = s.errs[0], s.errs[1:]
	}
	if err != nil {
		return sms.Receipt{}, err
	}
	return sms.Receipt{AccountSid: "AC1", Sid: fmt.Sprintf("SM%d", s.calls)}, nil
}

// sleeps records the waits of a Retry instead of waiting.
type sleeps struct{ got []time.Duration }

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.got = append(s.got, d)
	return ctx.Err()
}

var identity = func(d time.Duration) time.Duration { return d }

var msg = sms.Message{TenantID: "acme", To: "+919999999999", Body: "Acme: 123456 is your code", Code: "123456"}

func TestRetry(t *testing.T) {
	e500 := &statusErr{status: 500}
	e429 := &statusErr{status: 429, wait: 1500 * time.Millisecond}
	e429long := &statusErr{status: 429, wait: time.Minute}
	e400 := &statusErr{status: 400}
	timeout := fmt.Errorf("%w: %w", sms.ErrSendFailed, context.DeadlineExceeded)
	tests := []struct {
		name   string
		errs   []error
		calls  int
		sleeps []time.Duration
		ok     bool
		last   error
	}{
		{"first try", nil, 1, nil, true, nil},
		{"5xx then success", []error{e500}, 2, []time.Duration{200 * time.Millisecond}, true, nil},
		{"timeout then success", []error{timeout}, 2, []time.Duration{200 * time.Millisecond}, true, nil},
		{"Retry-After longer than the backoff", []error{e429}, 2, []time.Duration{1500 * time.Millisecond}, true, nil},
		{"Retry-After beyond MaxDelay gives up", []error{e429long}, 1, nil, false, e429long},
		{"permanent error", []error{e400}, 1, nil, false, e400},
		{"attempts run out", []error{e500, e500, e500, e500}, 3, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}, false, e500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &script{errs: tt.errs}
			sl := &sleeps{}
			logger, logs := newLogger()
			r := &sms.Retry{Sender: sc, Sleep: sl.sleep, Jitter: identity, Logger: logger}
			rc, err := r.Send(context.Background(), msg)
			assert.Equal(t, tt.calls, sc.calls)
			assert.Equal(t, tt.sleeps, sl.got)
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, fmt.Sprintf("SM%d", tt.calls), rc.Sid)
			} else {
				require.ErrorIs(t, err, sms.ErrSendFailed)
				require.ErrorIs(t, err, tt.last)
			}
			assert.Equal(t, len(tt.sleeps), strings.Count(logs.String(), "retrying"))
			assert.NotContains(t, logs.String(), msg.To)
			assert.NotContains(t, logs.String(), msg.Code)
			if len(tt.sleeps) > 0 {
				assert.Contains(t, logs.String(), "to=+91******9999")
			}
		})
	}
}

func TestRetryBackoffIsCappedAndJittered(t *testing.T) {
	sc := &script{errs: []error{&statusErr{status: 503}, &statusErr{status: 503}, &statusErr{status: 503}, &statusErr{status: 503}, &statusErr{status: 503}}}
	sl := &sleeps{}
	r := &sms.Retry{Sender: sc, Attempts: 6, BaseDelay: 100 * time.Millisecond, MaxDelay: 500 * time.Millisecond, Sleep: sl.sleep, Logger: discard()}
	_, err := r.Send(context.Background(), msg)
	require.NoError(t, err)
	require.Len(t, sl.got, 5)
	caps := []time.Duration{100, 200, 400, 500, 500}
	for i, d := range sl.got {
		c := caps[i] * time.Millisecond
		assert.GreaterOrEqual(t, d, c/2, "wait %d", i)
		assert.LessOrEqual(t, d, c, "wait %d", i)
	}
}

func TestRetryHonoursContext(t *testing.T) {
	t.Run("cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		sc := &script{errs: []error{&statusErr{status: 500}, &statusErr{status: 500}}}
		r := &sms.Retry{Sender: sc, Jitter: identity, Logger: discard(), Sleep: func(ctx context.Context, d time.Duration) error {
			cancel()
			return ctx.Err()
		}}
		_, err := r.Send(ctx, msg)
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, err, sms.ErrSendFailed)
		assert.Equal(t, 1, sc.calls)
	})
	t.Run("cancelled during the attempt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		s := sms.SenderFunc(func(context.Context, sms.Message) (sms.Receipt, error) {
			cancel()
			return sms.Receipt{}, &statusErr{status: 500}
		})
		sl := &sleeps{}
		_, err := (&sms.Retry{Sender: s, Sleep: sl.sleep, Logger: discard()}).Send(ctx, msg)
		require.Error(t, err)
		assert.Empty(t, sl.got)
	})
	t.Run("deadline nearer than the wait", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(time.Hour))
		defer cancel()
		dl, _ := ctx.Deadline()
		sc := &script{errs: []error{&statusErr{status: 500}}}
		sl := &sleeps{}
		r := &sms.Retry{Sender: sc, Sleep: sl.sleep, Jitter: identity, Logger: discard(),
			Clock: fixedClock(dl.Add(-100 * time.Millisecond))}
		_, err := r.Send(ctx, msg)
		require.Error(t, err)
		assert.Equal(t, 1, sc.calls)
		assert.Empty(t, sl.got)
	})
	t.Run("attempt timeout", func(t *testing.T) {
		sc := &script{}
		_, err := (&sms.Retry{Sender: sc, AttemptTimeout: time.Minute}).Send(context.Background(), msg)
		require.NoError(t, err)
		dl, ok := sc.ctxs[0].Deadline()
		require.True(t, ok)
		assert.WithinDuration(t, time.Now().Add(time.Minute), dl, 5*time.Second)
	})
	t.Run("real timer sleeps", func(t *testing.T) {
		sc := &script{errs: []error{&statusErr{status: 500}}}
		start := time.Now()
		_, err := (&sms.Retry{Sender: sc, BaseDelay: time.Millisecond, Logger: discard()}).Send(context.Background(), msg)
		require.NoError(t, err)
		assert.Equal(t, 2, sc.calls)
		assert.Less(t, time.Since(start), time.Second)
	})
}

func TestRetryWrapsPlainErrors(t *testing.T) {
	plain := errors.New("boom")
	_, err := (&sms.Retry{Sender: &script{errs: []error{plain}}}).Send(context.Background(), msg)
	require.ErrorIs(t, err, sms.ErrSendFailed)
	require.ErrorIs(t, err, plain)
}

func TestIsRetryable(t *testing.T) {
	netTimeout := &net.DNSError{Err: "timeout", Name: "api.twilio.com", IsTimeout: true}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("x"), false},
		{"sentinel only", sms.ErrSendFailed, false},
		{"429", &statusErr{status: 429}, true},
		{"503 wrapped", fmt.Errorf("outer: %w", &statusErr{status: 503}), true},
		{"400", &statusErr{status: 400}, false},
		{"deadline", context.DeadlineExceeded, true},
		{"cancelled", fmt.Errorf("%w: %w", sms.ErrSendFailed, context.Canceled), false},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{"net timeout", netTimeout, true},
		{"dns not found", &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, false},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"failover: one retryable", &sms.FailoverError{Errs: []error{&statusErr{status: 400}, &statusErr{status: 502}}}, true},
		{"failover: none retryable", &sms.FailoverError{Errs: []error{&statusErr{status: 400}, errors.New("x")}}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, sms.IsRetryable(tt.err), tt.name)
	}
}
