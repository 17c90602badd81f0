package sqlcore

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Querier is what the shared store logic needs from a connection pool or a
// transaction, whichever driver is under it. Every query is written once with
// $1-style placeholders, which both PostgreSQL and modernc.org/sqlite accept.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	QueryRow(ctx context.Context, query string, args ...any) Row
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// Row is one result row (pgx.Row and *sql.Row both fit).
type Row interface {
	Scan(dest ...any) error
}

// Rows iterates over a result.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// DB is a Querier that can also run a function in a transaction: committed
// when fn returns nil, rolled back otherwise.
type DB interface {
	Querier
	InTx(ctx context.Context, fn func(q Querier) error) error
}

// TimeScan scans a time kept as timestamptz (PostgreSQL) or as Unix
// nanoseconds (SQLite) into T, in UTC. NULL scans as the zero time.
type TimeScan struct{ T *time.Time }

// Scan implements sql.Scanner.
func (s TimeScan) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.T = time.Time{}
	case time.Time:
		*s.T = v.UTC()
	case int64:
		*s.T = time.Unix(0, v).UTC()
	default:
		return fmt.Errorf("cannot scan %T as a time", src)
	}
	return nil
}

// TextScan scans text, JSON, or a number or UUID key into S; NULL scans as "".
type TextScan struct{ S *string }

// Scan implements sql.Scanner.
func (t TextScan) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*t.S = ""
	case string:
		*t.S = v
	case []byte:
		*t.S = string(v)
	case int64:
		*t.S = strconv.FormatInt(v, 10)
	case [16]byte: // a uuid column read by pgx
		*t.S = fmt.Sprintf("%x-%x-%x-%x-%x", v[0:4], v[4:6], v[6:8], v[8:10], v[10:16])
	default:
		*t.S = fmt.Sprint(v)
	}
	return nil
}
