package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// querier is what the shared store logic needs from a connection pool or a
// transaction, whichever driver is under it. Every query is written once with
// $1-style placeholders, which both PostgreSQL and modernc.org/sqlite accept.
type querier interface {
	exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	queryRow(ctx context.Context, query string, args ...any) rowScanner
	query(ctx context.Context, query string, args ...any) (rowsIter, error)
}

type rowScanner interface {
	Scan(dest ...any) error
}

type rowsIter interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// database is a querier that can also run a function in a transaction:
// committed when fn returns nil, rolled back otherwise.
type database interface {
	querier
	inTx(ctx context.Context, fn func(q querier) error) error
	close()
}

// --- PostgreSQL through pgx ---

type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type pgQ struct{ q pgxQuerier }

func (p pgQ) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (p pgQ) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	return p.q.QueryRow(ctx, query, args...)
}

func (p pgQ) query(ctx context.Context, query string, args ...any) (rowsIter, error) {
	rows, err := p.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

type pgDB struct {
	pgQ
	pool *pgxpool.Pool
	owns bool
}

func newPgDB(pool *pgxpool.Pool, owns bool) *pgDB {
	return &pgDB{pgQ: pgQ{pool}, pool: pool, owns: owns}
}

func (d *pgDB) inTx(ctx context.Context, fn func(q querier) error) (err error) {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error { return fn(pgQ{tx}) })
}

func (d *pgDB) close() {
	if d.owns {
		d.pool.Close()
	}
}

// --- SQLite (and any database/sql driver) ---

type stdQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type stdQ struct{ q stdQuerier }

func (s stdQ) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s stdQ) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	return s.q.QueryRowContext(ctx, query, args...)
}

func (s stdQ) query(ctx context.Context, query string, args ...any) (rowsIter, error) {
	rows, err := s.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return stdRows{rows}, nil
}

type stdRows struct{ *sql.Rows }

func (r stdRows) Close() { _ = r.Rows.Close() }

type stdDB struct {
	stdQ
	db *sql.DB
}

func (d *stdDB) inTx(ctx context.Context, fn func(q querier) error) (err error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()
	if err := fn(stdQ{tx}); err != nil {
		return err
	}
	return tx.Commit()
}

func (d *stdDB) close() { _ = d.db.Close() }

// --- values that differ between the dialects ---

// timeScan scans a time kept as timestamptz (PostgreSQL) or as Unix
// nanoseconds (SQLite) into t, in UTC. NULL scans as the zero time.
type timeScan struct{ t *time.Time }

// Scan implements sql.Scanner.
func (s timeScan) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.t = time.Time{}
	case time.Time:
		*s.t = v.UTC()
	case int64:
		*s.t = time.Unix(0, v).UTC()
	default:
		return fmt.Errorf("sqlstore: cannot scan %T as a time", src)
	}
	return nil
}

// textScan scans text, JSON, or a number or UUID key into s; NULL scans as "".
type textScan struct{ s *string }

// Scan implements sql.Scanner.
func (t textScan) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*t.s = ""
	case string:
		*t.s = v
	case []byte:
		*t.s = string(v)
	case int64:
		*t.s = strconv.FormatInt(v, 10)
	case [16]byte: // a uuid column read by pgx
		*t.s = fmt.Sprintf("%x-%x-%x-%x-%x", v[0:4], v[4:6], v[6:8], v[8:10], v[10:16])
	default:
		*t.s = fmt.Sprint(v)
	}
	return nil
}
