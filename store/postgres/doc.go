// Package postgres is the PostgreSQL store.Store, through pgx (pgxpool).
// Importing it links pgx and nothing else of the SQL world: the SQLite
// adapter (and its driver) is a separate package, store/sqlite.
//
// It keeps one-time-code challenges, sessions and the webhook outbox in its
// own tables (all prefixed otpreset_), and users either in otpreset_users or,
// with Config.HostUsers, in the host's existing users table through the
// host's own queries. Besides store.Store it implements store.Resetter (the
// whole reset in one transaction: a failure after the code is consumed rolls
// everything back, so the old password still works and the code stays
// usable, and the phone's counters are cleared with it), store.Outbox
// (webhook events written in that transaction) and store.CodeIssuer. The
// counters that guard the codes (per phone and client network, and the
// phone's guessing budget) live in the phone's challenge row, so servers
// sharing the database share them: a send (IssueCode) and a code check
// (CheckCode) are one round trip each, and a wrong code reads and writes
// that one row under its lock; checks and sends that arrive while half
// the pool's connections are busy with others go together, in one round
// trip and one transaction whose one commit serves them all (group
// commit); one step in 64 also purges a bounded number of rows nothing
// needs any more, so the table stays small without the host's help.
//
// The schema ships as numbered migrations embedded in the binary and is
// changed only when the host calls Migrate; README.md beside this file shows
// the tables. Open connects by URL and owns its pool; New takes the host's
// *pgxpool.Pool; NewFromDB takes a host's *sql.DB opened with pgx's
// database/sql driver and opens a pool with its settings. Check, called at
// start, reports an unreachable database, a schema that is not migrated and
// host queries that do not prepare (errors wrapping store.ErrNotReady).
// Several servers can share one database: a code is consumed
// by a conditional UPDATE that row-locks it, so of any number of concurrent
// consumers exactly one succeeds, on any server.
package postgres
