// Package sqlstore is the SQL store.Store: PostgreSQL through pgx (pgxpool)
// and SQLite through modernc.org/sqlite (pure Go, no cgo), one Store type and
// one set of queries for both.
//
// It keeps one-time-code challenges, sessions and the webhook outbox in its
// own tables (all prefixed otpreset_), and users either in otpreset_users or,
// with Config.HostUsers, in the host's existing users table through the
// host's own queries. Besides store.Store it implements store.Resetter (the
// whole reset in one transaction: a failure after the code is consumed rolls
// everything back, so the old password still works and the code stays
// usable) and store.Outbox (webhook events written in that transaction).
//
// The schema ships as numbered migrations embedded in the binary and is
// changed only when the host calls Migrate. README.md beside this file shows
// the tables and says which constructor fits which deployment:
//
//   - OpenSQLite: one server, or a quickstart that must survive restarts.
//   - OpenPostgres / NewPostgres: several servers sharing one database.
//   - Config.HostUsers: the host already has a users table.
//
// Single use holds under concurrency: a code is consumed by a conditional
// UPDATE that row-locks it on PostgreSQL and runs under SQLite's write lock,
// so of any number of concurrent consumers exactly one succeeds.
package sqlstore
