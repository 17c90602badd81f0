package sms_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/sms"
)

func TestFailover(t *testing.T) {
	e400 := &statusErr{status: 400}
	e503 := &statusErr{status: 503}
	tests := []struct {
		name      string
		scripts   [][]error
		calls     []int
		sid       string // "" when all fail
		retryable bool
	}{
		{"first succeeds", [][]error{nil, nil}, []int{1, 0}, "SM1", false},
		{"second after a 5xx", [][]error{{e503}, nil}, []int{1, 1}, "SM1", false},
		{"second after a permanent error", [][]error{{e400}, nil}, []int{1, 1}, "SM1", false},
		{"third", [][]error{{e503}, {e400}, nil}, []int{1, 1, 1}, "SM1", false},
		{"all fail, one retryable", [][]error{{e400}, {e503}}, []int{1, 1}, "", true},
		{"all fail for good", [][]error{{e400}, {e400}}, []int{1, 1}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var senders []sms.Sender
			var scripts []*script
			for _, errs := range tt.scripts {
				sc := &script{errs: errs}
				scripts = append(scripts, sc)
				senders = append(senders, sc)
			}
			logger, logs := newLogger()
			f := &sms.Failover{Senders: senders, Logger: logger}
			rc, err := f.Send(context.Background(), msg)
			for i, sc := range scripts {
				assert.Equal(t, tt.calls[i], sc.calls, "sender %d", i+1)
			}
			if tt.sid != "" {
				require.NoError(t, err)
				assert.Equal(t, tt.sid, rc.Sid)
			} else {
				require.ErrorIs(t, err, sms.ErrSendFailed)
				var fe *sms.FailoverError
				require.ErrorAs(t, err, &fe)
				assert.Len(t, fe.Errs, len(senders))
				var se *statusErr
				require.ErrorAs(t, err, &se)
				assert.Equal(t, tt.retryable, sms.IsRetryable(err))
				assert.Contains(t, err.Error(), "sender 1 (*sms_test.script): provider: HTTP")
			}
			assert.NotContains(t, logs.String(), msg.To)
			assert.NotContains(t, logs.String(), msg.Code)
		})
	}
}

func TestFailoverTimeoutPerSender(t *testing.T) {
	hang := sms.SenderFunc(func(ctx context.Context, _ sms.Message) (sms.Receipt, error) {
		<-ctx.Done()
		return sms.Receipt{}, ctx.Err()
	})
	var deadlines []time.Time
	next := sms.SenderFunc(func(ctx context.Context, _ sms.Message) (sms.Receipt, error) {
		dl, _ := ctx.Deadline()
		deadlines = append(deadlines, dl)
		return sms.Receipt{AccountSid: "AC2", Sid: "SM2"}, nil
	})
	logger, logs := newLogger()
	f := &sms.Failover{Senders: []sms.Sender{hang, next}, Timeout: 20 * time.Millisecond, Logger: logger}
	start := time.Now()
	rc, err := f.Send(context.Background(), msg)
	require.NoError(t, err)
	assert.Equal(t, "SM2", rc.Sid)
	assert.Less(t, time.Since(start), 5*time.Second)
	require.Len(t, deadlines, 1)
	assert.False(t, deadlines[0].IsZero(), "the next sender gets a fresh timeout too")
	assert.Contains(t, logs.String(), "deadline exceeded")
	assert.Contains(t, logs.String(), "to=+91******9999")
}

func TestFailoverStopsWhenContextIsDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	first := sms.SenderFunc(func(context.Context, sms.Message) (sms.Receipt, error) {
		cancel()
		return sms.Receipt{}, &statusErr{status: 503}
	})
	second := &script{}
	_, err := (&sms.Failover{Senders: []sms.Sender{first, second}, Logger: discard()}).Send(ctx, msg)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, sms.ErrSendFailed)
	assert.Equal(t, 0, second.calls)
	assert.False(t, sms.IsRetryable(err), "a caller that gave up is not retried")
}

func TestFailoverEmpty(t *testing.T) {
	_, err := (&sms.Failover{}).Send(context.Background(), msg)
	require.ErrorIs(t, err, sms.ErrSendFailed)
	assert.Contains(t, err.Error(), "no senders")
}

func TestRetryAroundFailover(t *testing.T) {
	a := &script{errs: []error{&statusErr{status: 503}, &statusErr{status: 503}}}
	b := &script{errs: []error{errors.New("dns"), nil}}
	sl := &sleeps{}
	r := &sms.Retry{Sender: &sms.Failover{Senders: []sms.Sender{a, b}, Logger: discard()}, Sleep: sl.sleep, Jitter: identity, Logger: discard()}
	rc, err := r.Send(context.Background(), msg)
	require.NoError(t, err)
	assert.Equal(t, "SM2", rc.Sid)
	assert.Equal(t, 2, a.calls)
	assert.Equal(t, 2, b.calls)
	assert.Len(t, sl.got, 1)
}
