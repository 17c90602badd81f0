package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// batchMax is the most steps one batch carries. A batch holds the rows of
// its phones locked until it commits, so a longer one makes a reset of one
// of them wait longer; 32 already spreads a commit over enough steps that
// the commit is no longer what a step costs.
const batchMax = 32

// stepRuns is how many runs of steps (a step alone, or a batch) may be in
// flight on a pool of maxConns connections: half of them, at least one.
// Fewer runs make longer batches, so fewer round trips and commits per
// step (on cmd/floorbench's wrong codes, with the default pool of 4, two
// runs took 1.08-1.24x the floor's CPU per request where four took
// 1.24-1.51x, in runs interleaved on one machine); and the other half is
// left to resets and the host's own queries, which then do not queue
// behind a burst of wrong codes for a connection.
func stepRuns(maxConns int32) int {
	return max(int(maxConns)/2, 1)
}

// stepBatcher coalesces the steps that guard a phone's codes, code checks
// and sends, each one statement that returns one row (group commit). A
// step that finds room (fewer runs in flight than stepRuns allows) runs
// alone, as one statement; one that arrives while as many steps (or batches
// of them) run as stepRuns allows waits, and when a run ends the steps that
// waited meanwhile go together: one pgx batch, so one round trip and one
// transaction, whose one commit (one WAL flush) serves all of them. Under
// load a wrong code or a send thus costs the database a fraction of a
// commit and of a round trip; without load nothing waits and nothing
// changes.
//
// Each step still answers only once its batch committed, so an answer is
// as durable as a statement's. The statements of a batch run in the order
// of their phones, and each step locks only its own phone's row (a purge
// riding along skips rows others hold), so two batches that share phones
// lock them in the same order and cannot deadlock; a step of a phone that
// another transaction holds waits for it, as it would alone. When a batch
// fails with an error PostgreSQL reports (its transaction rolled back,
// nothing of it stays), or one pgx says was not sent, each of its steps
// runs again alone, so one step's failure is its own.
//
// The leader is the caller whose turn it is: the waiting callers are
// handed the batch by the caller whose run ended, and run it on their own
// goroutine; there is no goroutine of the batcher's own to stop.
type stepBatcher struct {
	// one runs a step alone; many runs a batch of at least two, setting
	// each step's err.
	one  func(ctx context.Context, sql string, args, dest []any) error
	many func(ctx context.Context, steps []*step)
	// limit is how many runs may be in flight, maxSize how many steps a
	// batch carries at most.
	limit, maxSize int

	mu      sync.Mutex
	running int
	pending []*step
}

// step is one waiting statement: its phone (the order of a batch), the
// statement, where its row goes and, once its batch ran, its error.
type step struct {
	ctx           context.Context
	tenant, phone string
	sql           string
	args, dest    []any
	err           error
	// turn receives the batch this step is to lead, or nil once another
	// step led the batch this one was in (err is then its outcome).
	turn chan []*step
}

// do runs sql with args, which returns one row, scanned into dest: alone,
// or in a batch with others if the pool is busy.
func (b *stepBatcher) do(ctx context.Context, tenant, phone, sql string, args []any, dest ...any) error {
	b.mu.Lock()
	if b.running < b.limit && len(b.pending) == 0 {
		b.running++
		b.mu.Unlock()
		err := b.one(ctx, sql, args, dest)
		b.next()
		return err
	}
	s := &step{ctx: ctx, tenant: tenant, phone: phone, sql: sql, args: args, dest: dest, turn: make(chan []*step, 1)}
	b.pending = append(b.pending, s)
	b.mu.Unlock()
	var batch []*step
	select {
	case batch = <-s.turn:
	case <-ctx.Done():
		b.mu.Lock()
		if i := slices.Index(b.pending, s); i >= 0 {
			b.pending = slices.Delete(b.pending, i, i+1)
			b.mu.Unlock()
			return context.Cause(ctx)
		}
		b.mu.Unlock()
		// Already taken into a batch, which may be this step's to lead:
		// the others wait for it.
		batch = <-s.turn
	}
	if batch != nil {
		if len(batch) == 1 {
			s.err = b.one(ctx, sql, args, dest)
		} else {
			b.many(ctx, batch)
		}
		b.next()
		for _, o := range batch {
			if o != s {
				o.turn <- nil
			}
		}
	}
	return s.err
}

// next ends a run: the steps waiting meanwhile become the next batch,
// handed to the first of them to lead, or there is one run fewer.
func (b *stepBatcher) next() {
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

// runAlone runs one step as a statement of its own.
func (s *Store) runAlone(ctx context.Context, sql string, args, dest []any) error {
	return s.db.pool.QueryRow(ctx, sql, args...).Scan(dest...)
}

// runBatch runs steps (at least two) as one pgx batch, in one round trip
// and one transaction, and sets each step's err. It sorts steps in place:
// the batch is its leader's alone (next handed it over), and the leader
// tells itself from the others by identity, not position.
func (s *Store) runBatch(ctx context.Context, steps []*step) {
	// The leader's request may end before the others': the batch is theirs
	// too, so it is bounded only by their deadlines.
	ctx, cancel := batchContext(ctx, steps)
	defer cancel()
	slices.SortFunc(steps, func(x, y *step) int {
		return cmp.Or(cmp.Compare(x.tenant, y.tenant), cmp.Compare(x.phone, y.phone))
	})
	var pb pgx.Batch
	for _, st := range steps {
		pb.Queue(st.sql, st.args...).QueryRow(func(row pgx.Row) error { return row.Scan(st.dest...) })
	}
	err := s.db.pool.SendBatch(ctx, &pb).Close()
	var pgErr *pgconn.PgError
	if err != nil && (errors.As(err, &pgErr) || pgconn.SafeToRetry(err)) {
		// Nothing of the batch stayed: each step runs again on its own,
		// so that only a step that fails alone answers with an error.
		for _, st := range steps {
			st.err = s.runAlone(st.ctx, st.sql, st.args, st.dest)
		}
		return
	}
	// Done, or, on another error, the batch may or may not have
	// committed: as a statement would, each step says so.
	for _, st := range steps {
		st.err = err
	}
}

// batchContext is ctx without its cancellation (its values, a trace,
// stay), bounded by the latest deadline of steps, or by none if one of
// them has none.
func batchContext(ctx context.Context, steps []*step) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, st := range steps {
		d, ok := st.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.WithoutCancel(ctx))
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(ctx), latest)
}
