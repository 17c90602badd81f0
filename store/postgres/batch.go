package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/otpreset/go/store"
)

// checkBatchMax is the most code checks one batch carries. A batch holds
// the rows of its phones locked until it commits, so a longer one makes a
// reset of one of them wait longer; 32 already spreads a commit over
// enough checks that the commit is no longer what a check costs.
const checkBatchMax = 32

// checkBatcher coalesces code checks (group commit). A check that finds a
// connection's worth of room runs alone, as one statement; one that
// arrives while as many checks (or batches of them) run as the pool has
// connections waits, and when a run ends the checks that waited meanwhile
// go together: one pgx batch, so one round trip and one transaction, whose
// one commit (one WAL flush) serves all of them. Under load a wrong code
// thus costs the database a fraction of a commit; without load nothing
// waits and nothing changes.
//
// Each check still answers only once its batch committed, so an answer is
// as durable as a statement's. The statements of a batch run in the order
// of their phones, so two batches that share phones lock them in the same
// order and cannot deadlock; a check of a phone that another transaction
// holds waits for it, as it would alone. When a batch fails with an error
// PostgreSQL reports (its transaction rolled back, nothing of it stays),
// or one pgx says was not sent, each of its checks runs again alone, so
// one check's failure is its own.
//
// The leader is the caller whose turn it is: the waiting callers are
// handed the batch by the caller whose run ended, and run it on their own
// goroutine; there is no goroutine of the batcher's own to stop.
type checkBatcher struct {
	// one runs a check alone, many a batch of at least two.
	one  func(ctx context.Context, a store.Attempt) (store.Verdict, error)
	many func(ctx context.Context, calls []*checkCall)
	// limit is how many runs may be in flight, maxSize how many checks a
	// batch carries at most.
	limit, maxSize int

	mu      sync.Mutex
	running int
	pending []*checkCall
}

// checkCall is one waiting check and, once its batch ran, its answer.
type checkCall struct {
	ctx context.Context
	a   store.Attempt
	v   store.Verdict
	err error
	// turn receives the batch this call is to lead, or nil once another
	// call led the batch this call was in (v and err are then its answer).
	turn chan []*checkCall
}

func (b *checkBatcher) check(ctx context.Context, a store.Attempt) (store.Verdict, error) {
	b.mu.Lock()
	if b.running < b.limit && len(b.pending) == 0 {
		b.running++
		b.mu.Unlock()
		v, err := b.one(ctx, a)
		b.next()
		return v, err
	}
	c := &checkCall{ctx: ctx, a: a, turn: make(chan []*checkCall, 1)}
	b.pending = append(b.pending, c)
	b.mu.Unlock()
	var batch []*checkCall
	select {
	case batch = <-c.turn:
	case <-ctx.Done():
		b.mu.Lock()
		if i := slices.Index(b.pending, c); i >= 0 {
			b.pending = slices.Delete(b.pending, i, i+1)
			b.mu.Unlock()
			return store.Verdict{}, fmt.Errorf("postgres: check code: %w", context.Cause(ctx))
		}
		b.mu.Unlock()
		// Already taken into a batch, which may be this call's to lead:
		// the others wait for it.
		batch = <-c.turn
	}
	if batch != nil {
		if len(batch) == 1 {
			c.v, c.err = b.one(ctx, a)
		} else {
			b.many(ctx, batch)
		}
		b.next()
		for _, o := range batch {
			if o != c {
				o.turn <- nil
			}
		}
	}
	return c.v, c.err
}

// next ends a run: the checks waiting meanwhile become the next batch,
// handed to the first of them to lead, or there is one run fewer.
func (b *checkBatcher) next() {
	b.mu.Lock()
	if len(b.pending) == 0 {
		b.running--
		b.mu.Unlock()
		return
	}
	n := min(len(b.pending), b.maxSize)
	batch := slices.Clone(b.pending[:n])
	b.pending = slices.Delete(b.pending, 0, n)
	b.mu.Unlock()
	batch[0].turn <- batch
}

// checkBatch runs calls (at least two) as one pgx batch of
// otpreset_check_code calls, in one round trip and one transaction, and
// sets each call's answer.
func (s *Store) checkBatch(ctx context.Context, calls []*checkCall) {
	// The leader's request may end before the others': the batch is theirs
	// too, so it is bounded only by their deadlines.
	ctx, cancel := batchContext(ctx, calls)
	defer cancel()
	sorted := slices.Clone(calls)
	slices.SortFunc(sorted, func(x, y *checkCall) int {
		return cmp.Or(cmp.Compare(x.a.Check.TenantID, y.a.Check.TenantID), cmp.Compare(x.a.Check.Phone, y.a.Check.Phone))
	})
	var pb pgx.Batch
	rows := make([]checkRow, len(sorted))
	for _, c := range sorted {
		pb.Queue(checkCodeSQL, s.checkArgs(c.a)...)
	}
	br := s.db.pool.SendBatch(ctx, &pb)
	var err error
	for i := range rows {
		if err = br.QueryRow().Scan(rows[i].dest()...); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		for i, c := range sorted {
			c.v, c.err = s.verdict(&rows[i], c.a)
		}
	case errors.As(err, &pgErr) || pgconn.SafeToRetry(err):
		// Nothing of the batch stayed: each check runs again on its own,
		// so that only a check that fails alone answers with an error.
		for _, c := range sorted {
			c.v, c.err = s.checkCode(c.ctx, s.core.DB, c.a)
		}
	default: // the batch may or may not have committed: as a statement would, it says so
		for _, c := range sorted {
			c.v, c.err = store.Verdict{}, s.core.Errf("check code: %w", err)
		}
	}
}

// batchContext is ctx without its cancellation (its values, a trace,
// stay), bounded by the latest deadline of calls, or by none if one of
// them has none.
func batchContext(ctx context.Context, calls []*checkCall) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, c := range calls {
		d, ok := c.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.WithoutCancel(ctx))
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(ctx), latest)
}
