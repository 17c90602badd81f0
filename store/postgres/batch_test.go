package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// fakeRuns are a batcher's runs that record what they were given, held
// until release closes so that the calls pile up. A step's only argument
// is its number, which the runs write back as its row.
type fakeRuns struct {
	release        chan struct{}
	inFlight, peak atomic.Int32
	mu             sync.Mutex
	sizes          []int
	ran            map[int]int // step number -> times run
}

func newFakeRuns() *fakeRuns {
	return &fakeRuns{release: make(chan struct{}), ran: map[int]int{}}
}

func (f *fakeRuns) run(args ...[]any) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
	}
	<-f.release
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sizes = append(f.sizes, len(args))
	for _, a := range args {
		f.ran[a[0].(int)]++
	}
}

func (f *fakeRuns) batcher(limit, most int) *stepBatcher {
	return &stepBatcher{
		one: func(_ context.Context, _ string, args, dest []any) error {
			f.run(args)
			*dest[0].(*int) = args[0].(int)
			return nil
		},
		many: func(_ context.Context, steps []*step) {
			args := make([][]any, len(steps))
			for i, st := range steps {
				args[i] = st.args
			}
			f.run(args...)
			for _, st := range steps {
				*st.dest[0].(*int) = st.args[0].(int)
			}
		},
		limit: limit, maxSize: most,
	}
}

// within fails t unless done delivers (or closes) within d.
func within(t *testing.T, done <-chan error, d time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatal("a step was never answered")
		return nil
	}
}

// concurrently runs step(0) ... step(n-1) at once and fails t unless all
// end within 30 s without an error.
func concurrently(t *testing.T, n int, step func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- step(i) }()
	}
	all := make(chan error)
	go func() { wg.Wait(); close(all) }()
	_ = within(t, all, 30*time.Second)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// TestStepBatcher: every step is run once and answered with its own row,
// no more runs are in flight than the limit, no batch is longer than the
// most, and the steps that wait for a busy pool do go together.
func TestStepBatcher(t *testing.T) {
	t.Parallel()
	const steps, limit, most = 200, 2, 8
	f := newFakeRuns()
	b := f.batcher(limit, most)
	rows := make([]int, steps)
	done := make(chan error, steps)
	for i := range steps {
		rows[i] = -1
		go func() { done <- b.do(context.Background(), "t", fmt.Sprint(i), "step", []any{i}, &rows[i]) }()
	}
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.running == limit && len(b.pending) == steps-limit
	}, 10*time.Second, time.Millisecond, "the steps beyond the limit wait")
	close(f.release)
	for range steps {
		require.NoError(t, within(t, done, 10*time.Second))
	}

	for i := range steps {
		assert.Equal(t, i, rows[i], "step %d got another step's row", i)
		assert.Equal(t, 1, f.ran[i], "step %d ran %d times", i, f.ran[i])
	}
	assert.LessOrEqual(t, f.peak.Load(), int32(limit), "runs in flight")
	batched := 0
	for _, n := range f.sizes {
		assert.LessOrEqual(t, n, most, "a batch's length")
		if n > 1 {
			batched += n
		}
	}
	assert.Equal(t, steps-limit, batched, "every step that waited ran in a batch")
	assert.Zero(t, b.running, "no run left counted once all ended")
}

// TestStepBatcherCancel: a step whose context ends while it waits leaves
// the queue with its context's error and is never run; the others are
// answered.
func TestStepBatcherCancel(t *testing.T) {
	t.Parallel()
	f := newFakeRuns()
	b := f.batcher(1, 8)
	var rows [3]int
	run := func(ctx context.Context, i int) chan error {
		done := make(chan error, 1)
		go func() { done <- b.do(ctx, "t", "+1", "step", []any{i}, &rows[i]) }()
		return done
	}
	first := run(context.Background(), 0)
	require.Eventually(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.running == 1 }, 10*time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := run(ctx, 1)
	kept := run(context.Background(), 2)
	require.Eventually(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.pending) == 2 }, 10*time.Second, time.Millisecond)

	cancel()
	select {
	case err := <-cancelled:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		close(f.release)
		t.Fatal("a step whose context ended kept waiting for its turn")
	}
	close(f.release)
	require.NoError(t, within(t, first, 10*time.Second))
	require.NoError(t, within(t, kept, 10*time.Second))
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Equal(t, map[int]int{0: 1, 2: 1}, f.ran, "the cancelled step never ran")
}

// TestStepRuns: half the pool's connections carry steps, at least one.
func TestStepRuns(t *testing.T) {
	t.Parallel()
	for conns, want := range map[int32]int{1: 1, 2: 1, 3: 1, 4: 2, 10: 5, 0: 1} {
		assert.Equal(t, want, stepRuns(conns), "a pool of %d connections", conns)
	}
}

// countBatched makes s count the steps it runs in batches.
func countBatched(s *Store) *atomic.Int64 {
	var n atomic.Int64
	many := s.steps.many
	s.steps.many = func(ctx context.Context, steps []*step) { n.Add(int64(len(steps))); many(ctx, steps) }
	return &n
}

// TestCheckBatchCounts runs concurrent wrong codes through a pool of one
// connection, so that most go in batches, against codes of a known number
// of tries: every wrong code is counted exactly once (the last try left
// answers a mismatch, the one after it "too many attempts"), and batches
// did run.
func TestCheckBatchCounts(t *testing.T) {
	t.Parallel()
	s := newPool(t, func(pc *pgxpool.Config) { pc.MaxConns = 1 })
	batched := countBatched(s)
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
	concurrently(t, phones*(tries-1), func(i int) error {
		v, err := s.CheckCode(ctx, wrong(i))
		if err == nil && !errors.Is(v.Code, store.ErrCodeMismatch) {
			err = fmt.Errorf("wrong code %d: verdict %+v, want a mismatch", i, v)
		}
		return err
	})
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
	wrong := func(phone string) (*step, *checkRow, store.Attempt) {
		a := store.Attempt{Check: store.CodeCheck{TenantID: "t", Phone: phone, CodeHash: []byte("wrong"), Now: now}, Network: "n"}
		var r checkRow
		return &step{ctx: ctx, tenant: "t", phone: phone, sql: checkCodeSQL, args: s.checkArgs(a), dest: r.dest()}, &r, a
	}
	var steps []*step
	var rows []*checkRow
	var attempts []store.Attempt
	for _, phone := range []string{phones[0], "+1555\x00", phones[1]} {
		st, r, a := wrong(phone)
		steps, rows, attempts = append(steps, st), append(rows, r), append(attempts, a)
	}
	s.runBatch(ctx, slices.Clone(steps)) // it sorts what it is given: steps keeps this order
	require.Error(t, steps[1].err, "a phone with a NUL byte")
	for _, i := range []int{0, 2} {
		phone := attempts[i].Check.Phone
		require.NoError(t, steps[i].err, phone)
		v, err := s.verdict(rows[i], attempts[i])
		require.NoError(t, err)
		assert.ErrorIs(t, v.Code, store.ErrCodeMismatch, phone)
		v, err = s.CheckCode(ctx, attempts[i])
		require.NoError(t, err)
		assert.ErrorIs(t, v.Code, store.ErrCodeMismatch, "%s: its second try of two is left", phone)
	}
}

// TestIssueBatchCounts sends codes concurrently through a pool of one
// connection, so that most go in batches, under a send limit: each phone
// is sent exactly its limit, the sends beyond it are refused, and batches
// did run.
func TestIssueBatchCounts(t *testing.T) {
	t.Parallel()
	s := newPool(t, func(pc *pgxpool.Config) { pc.MaxConns = 1 })
	batched := countBatched(s)
	ctx := sqltest.Ctx(t)
	now := time.Now().UTC().Truncate(time.Second)
	const phones, limit, extra = 8, 5, 3
	for i := range phones {
		require.NoError(t, s.AddUser(ctx, store.User{TenantID: "t", ID: fmt.Sprint(i), Phone: fmt.Sprintf("+1555090%02d", i), PasswordHash: "h"}))
	}
	var mu sync.Mutex
	sent, limited := map[string]int{}, map[string]int{}
	concurrently(t, phones*(limit+extra), func(i int) error {
		phone := fmt.Sprintf("+1555090%02d", i%phones)
		is, err := s.IssueCode(ctx, store.Issue{
			Challenge: store.Challenge{TenantID: "t", Phone: phone, Nonce: []byte("n"), CodeHash: []byte(fmt.Sprint("code", i)),
				CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxAttempts: 5},
			Network: "n", SendLimit: store.SendLimit{Limit: limit, Period: time.Hour}})
		if err == nil && !is.Limited && !is.Found {
			err = fmt.Errorf("send %d: the user of %s not found", i, phone)
		}
		mu.Lock()
		defer mu.Unlock()
		if is.Limited {
			limited[phone]++
		} else {
			sent[phone]++
		}
		return err
	})
	assert.Positive(t, batched.Load(), "no send went in a batch: the test tests nothing")
	for i := range phones {
		phone := fmt.Sprintf("+1555090%02d", i)
		assert.Equal(t, limit, sent[phone], "%s: sends let through", phone)
		assert.Equal(t, extra, limited[phone], "%s: sends refused", phone)
	}
}
