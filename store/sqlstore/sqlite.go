package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go)
)

// SQLiteBusyTimeout is how long a SQLite write waits for another process's
// write lock before failing with SQLITE_BUSY.
const SQLiteBusyTimeout = 10 * time.Second

// OpenSQLite opens (creating if needed) the SQLite database file at path
// with modernc.org/sqlite, a pure-Go driver (no cgo). The connection is set
// up for a durable, concurrent-safe store: WAL journal, synchronous=FULL
// (a committed reset survives a power cut), a busy timeout, and every
// transaction begun IMMEDIATE so that it takes the write lock up front.
// Within the process one connection serves every call, so writes never
// contend with each other; other processes on the same file wait on the
// busy timeout. It does not change the schema: call Migrate.
func OpenSQLite(path string, cfg Config) (*Store, error) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	dsn := path + sep + fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate",
		SQLiteBusyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	ctx, cancel := context.WithTimeout(context.Background(), SQLiteBusyTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	return newStore(&stdDB{stdQ: stdQ{db}, db: db}, sqlite, cfg), nil
}

var sqlite = dialect{
	name: "sqlite",
	time: func(t time.Time) any { return t.UnixNano() },
	named: func(m map[string]any) []any {
		args := make([]any, 0, len(m))
		for k, v := range m {
			args = append(args, sql.Named(k, v))
		}
		return args
	},
}
