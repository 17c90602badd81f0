package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/internal/sqltest"
)

// attemptNo tags an attempt with a number, which the fake runs below echo
// back as the verdict's Lockouts, so that each caller can tell its own
// answer from another's.
func attemptNo(i int) store.Attempt {
	return store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: fmt.Sprintf("+1555%04d", i)}, Network: fmt.Sprint(i)}
}

// TestCheckBatcher drives the batcher with runs that record what they were
// given: every call is answered once with its own answer, no more runs are
// in flight than the limit, no batch is longer than the most, and the calls
// that wait for a busy pool do go together.
func TestCheckBatcher(t *testing.T) {
	t.Parallel()
	const calls, limit, most = 200, 2, 8
	var (
		inFlight, peak atomic.Int32
		mu             sync.Mutex
		sizes          []int
		ran            = map[int]int{} // attempt number -> times run
	)
	release := make(chan struct{})
	run := func(as ...store.Attempt) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release // held until every call is queued, so that they pile up
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(as))
		for _, a := range as {
			var i int
			_, _ = fmt.Sscan(a.Network, &i)
			ran[i]++
		}
	}
	b := &checkBatcher{
		one: func(_ context.Context, a store.Attempt) (store.Verdict, error) {
			run(a)
			var i int
			_, _ = fmt.Sscan(a.Network, &i)
			return store.Verdict{Lockouts: i}, nil
		},
		many: func(_ context.Context, cs []*checkCall) {
			as := make([]store.Attempt, len(cs))
			for i, c := range cs {
				as[i] = c.a
			}
			run(as...)
			for _, c := range cs {
				var i int
				_, _ = fmt.Sscan(c.a.Network, &i)
				c.v = store.Verdict{Lockouts: i}
			}
		},
		limit: limit, maxSize: most,
	}
	var wg sync.WaitGroup
	answers := make([]store.Verdict, calls)
	errs := make([]error, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = b.check(context.Background(), attemptNo(i))
		}()
	}
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.running == limit && len(b.pending) == calls-limit
	}, 10*time.Second, time.Millisecond, "the calls beyond the limit wait")
	close(release)
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(20 * time.Second):
		t.Fatal("a call was never answered")
	}

	for i := range calls {
		require.NoError(t, errs[i])
		assert.Equal(t, i, answers[i].Lockouts, "call %d got another call's answer", i)
		assert.Equal(t, 1, ran[i], "call %d ran %d times", i, ran[i])
	}
	assert.LessOrEqual(t, peak.Load(), int32(limit), "runs in flight")
	batched := 0
	for _, n := range sizes {
		assert.LessOrEqual(t, n, most, "a batch's length")
		if n > 1 {
			batched += n
		}
	}
	assert.Equal(t, calls-limit, batched, "every call that waited ran in a batch")
	assert.Zero(t, b.running, "no run left counted once all ended")
}

// TestCheckBatcherCancel: a call whose context ends while it waits leaves
// the queue with its context's error and is never run; the others are
// answered.
func TestCheckBatcherCancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var ranMu sync.Mutex
	ran := map[string]bool{}
	b := &checkBatcher{
		one: func(_ context.Context, a store.Attempt) (store.Verdict, error) {
			<-release
			ranMu.Lock()
			defer ranMu.Unlock()
			ran[a.Network] = true
			return store.Verdict{}, nil
		},
		many: func(_ context.Context, cs []*checkCall) {
			ranMu.Lock()
			defer ranMu.Unlock()
			for _, c := range cs {
				ran[c.a.Network] = true
			}
		},
		limit: 1, maxSize: 8,
	}
	first := make(chan error, 1)
	go func() { _, err := b.check(context.Background(), attemptNo(0)); first <- err }()
	require.Eventually(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.running == 1 }, 10*time.Second, time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() { _, err := b.check(ctx, attemptNo(1)); cancelled <- err }()
	kept := make(chan error, 1)
	go func() { _, err := b.check(context.Background(), attemptNo(2)); kept <- err }()
	require.Eventually(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.pending) == 2 }, 10*time.Second, time.Millisecond)

	cancel()
	select {
	case err := <-cancelled:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("a call whose context ended kept waiting for its turn")
	}
	close(release)
	for _, done := range []chan error{first, kept} {
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("a call was never answered")
		}
	}
	ranMu.Lock()
	defer ranMu.Unlock()
	assert.Equal(t, map[string]bool{"0": true, "2": true}, ran, "the cancelled call never ran")
}

// TestCheckBatchCounts runs concurrent wrong codes through a pool of one
// connection, so that most go in batches, against codes of a known number
// of tries: every wrong code is counted exactly once (the last try left
// answers a mismatch, the one after it "too many attempts"), and batches
// did run.
func TestCheckBatchCounts(t *testing.T) {
	t.Parallel()
	s := newPool(t, func(pc *pgxpool.Config) { pc.MaxConns = 1 })
	var batched atomic.Int64
	many := s.checks.many
	s.checks.many = func(ctx context.Context, cs []*checkCall) { batched.Add(int64(len(cs))); many(ctx, cs) }
	ctx := sqltest.Ctx(t)
	now := time.Now().UTC().Truncate(time.Second)
	const phones, tries = 8, 12
	for i := range phones {
		c := store.Challenge{TenantID: "t", Phone: fmt.Sprintf("+1555070%02d", i), Nonce: []byte("n"), CodeHash: []byte("right"),
			CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxAttempts: tries}
		_, err := s.IssueChallenge(ctx, store.Issue{Challenge: c})
		require.NoError(t, err)
	}
	wrong := func(i int) store.Attempt {
		return store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: fmt.Sprintf("+1555070%02d", i%phones), CodeHash: []byte("wrong"), Now: now},
			Network: fmt.Sprintf("n%d", i%5)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, phones*(tries-1))
	for i := range phones * (tries - 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.CheckCode(ctx, wrong(i))
			if err == nil && !errors.Is(v.Code, store.ErrCodeMismatch) {
				err = fmt.Errorf("wrong code %d: verdict %+v, want a mismatch", i, v)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Positive(t, batched.Load(), "no check went in a batch: the test tests nothing")
	for i := range phones {
		v, err := s.CheckCode(ctx, wrong(i))
		require.NoError(t, err)
		assert.ErrorIs(t, v.Code, store.ErrCodeMismatch, "phone %d: its last try", i)
		v, err = s.CheckCode(ctx, wrong(i))
		require.NoError(t, err)
		assert.ErrorIs(t, v.Code, store.ErrTooManyAttempts, "phone %d: a try beyond its %d", i, tries)
	}
}

// TestCheckBatchFailsAlone: a batch one of whose checks fails in
// PostgreSQL (a phone PostgreSQL refuses to store) rolls back whole and
// runs again check by check: the failing check alone answers an error, and
// each other check is counted once, not twice.
func TestCheckBatchFailsAlone(t *testing.T) {
	t.Parallel()
	s := newPool(t, func(*pgxpool.Config) {})
	ctx := sqltest.Ctx(t)
	now := time.Now().UTC().Truncate(time.Second)
	phones := []string{"+15550801", "+15550802"}
	for _, phone := range phones {
		c := store.Challenge{TenantID: "t", Phone: phone, Nonce: []byte("n"), CodeHash: []byte("right"),
			CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxAttempts: 2}
		_, err := s.IssueChallenge(ctx, store.Issue{Challenge: c})
		require.NoError(t, err)
	}
	wrong := func(phone string) *checkCall {
		return &checkCall{ctx: ctx, a: store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: phone, CodeHash: []byte("wrong"), Now: now}, Network: "n"}}
	}
	calls := []*checkCall{wrong(phones[0]), wrong("+1555\x00"), wrong(phones[1])}
	s.checkBatch(ctx, calls)
	require.Error(t, calls[1].err, "a phone with a NUL byte")
	for _, c := range []*checkCall{calls[0], calls[2]} {
		require.NoError(t, c.err, c.a.Check.Phone)
		assert.ErrorIs(t, c.v.Code, store.ErrCodeMismatch, c.a.Check.Phone)
		v, err := s.CheckCode(ctx, c.a)
		require.NoError(t, err)
		assert.ErrorIs(t, v.Code, store.ErrCodeMismatch, "%s: its second try of two is left", c.a.Check.Phone)
	}
}
