// Package sqlite is the SQLite store.Store, through modernc.org/sqlite (pure
// Go, no cgo). Importing it links that driver and not pgx: the PostgreSQL
// adapter is a separate package, store/postgres.
//
// New takes the host's *sql.DB and changes none of its settings: it does not
// switch the journal mode, the synchronous level or the busy timeout, and it
// never closes the database. What the store needs from it, and what Open sets
// explicitly for a host that has no database yet:
//
//   - a busy timeout (busy_timeout pragma), so that a write waits for
//     another connection's or process's write lock instead of failing with
//     SQLITE_BUSY; Open sets 10 s;
//   - WAL journal mode is recommended (readers do not block the writer), and
//     synchronous=FULL if a committed reset must survive a power cut; Open
//     sets both;
//   - one connection (SetMaxOpenConns(1)) is the simplest way to never
//     contend inside the process; Open sets it. With more, the busy timeout
//     does the waiting.
//
// The store begins each of its transactions with BEGIN IMMEDIATE itself (on
// a connection it holds for the transaction), so it takes the write lock up
// front whatever the DSN says.
//
// It keeps challenges, the counters that guard them (per phone and client
// network, and the phone's guessing budget), sessions and the webhook outbox
// in its own tables (all prefixed otpreset_), and users either in
// otpreset_users or, with Config.HostUsers, in the host's table through the
// host's own queries. Each send and each code check is one transaction that
// decides and counts at once; one in 64 also purges a bounded number of
// expired codes and lapsed counters, so the tables stay small without the
// host's help. It implements store.CodeIssuer, store.Resetter (one
// transaction per reset, which also clears the phone's counters) and
// store.Outbox.
// The schema ships as numbered migrations embedded in the binary, applied
// only by Migrate; README.md beside this file shows the tables. Check,
// called at start, reports a closed database, a schema that is not
// migrated and host queries that do not prepare (errors wrapping
// store.ErrNotReady).
package sqlite

//go:generate go run ../internal/forwardgen ../postgres/forward.go sqlite forward.go
