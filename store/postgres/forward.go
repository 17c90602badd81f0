// Code in this file forwards to the SQL shared with the other SQL adapter
// (store/internal/sqlcore). It is written once, in store/postgres/forward.go;
// store/sqlite/forward.go is generated from it (go generate ./store/sqlite).

package postgres

import (
	"context"
	"time"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/internal/sqlcore"
)

// AddUser inserts a user, or replaces the one with the same tenant and
// phone. With HostUsers it runs HostUsers.AddUser, and fails when that is
// empty. It implements storetest.UserSeeder.
func (s *Store) AddUser(ctx context.Context, u store.User) error { return s.core.AddUser(ctx, u) }

// UserByPhone implements store.Users.
func (s *Store) UserByPhone(ctx context.Context, tenantID, phone string) (store.User, error) {
	return s.core.UserByPhone(ctx, tenantID, phone)
}

// UpdatePassword implements store.Users. A nil Profile keeps the stored one
// (in otpreset_users; HostUsers needs the whole profile).
func (s *Store) UpdatePassword(ctx context.Context, c store.PasswordChange) error {
	return s.core.UpdatePassword(ctx, c)
}

// ConsumeChallenge implements store.Challenges.
func (s *Store) ConsumeChallenge(ctx context.Context, check store.CodeCheck) error {
	return s.core.ConsumeChallenge(ctx, check)
}

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	return s.core.CreateSession(ctx, sess)
}

// LookupSession finds a live session by the hash of its access token (for
// hosts that accept the access_token a reset issued; otpreset never calls
// it), or returns an error wrapping store.ErrNotFound.
func (s *Store) LookupSession(ctx context.Context, tenantID string, accessTokenHash []byte, now time.Time) (store.Session, error) {
	return s.core.LookupSession(ctx, tenantID, accessTokenHash, now)
}

// RevokeSessions implements store.Sessions.
func (s *Store) RevokeSessions(ctx context.Context, tenantID, userID string) (int, error) {
	return s.core.RevokeSessions(ctx, tenantID, userID)
}

// Reset implements store.Resetter: in one transaction it consumes the code,
// replaces the password and profile, revokes the user's sessions, creates
// the new session, writes the outbox and clears the phone's counters. A
// wrong code is counted against the code's tries and committed, and the
// error wraps store.ErrCodeMismatch; any other failure rolls everything
// back, so the code stays usable.
func (s *Store) Reset(ctx context.Context, r store.Reset) error { return s.core.Reset(ctx, r) }

// PendingOutbox implements store.Outbox: up to limit undelivered messages,
// oldest first (by CreatedAt, then by the order they were written).
func (s *Store) PendingOutbox(ctx context.Context, limit int) ([]store.OutboxMessage, error) {
	return s.core.PendingOutbox(ctx, limit)
}

// MarkDelivered implements store.Outbox. Marking a message twice is not an
// error; an unknown id wraps store.ErrNotFound.
func (s *Store) MarkDelivered(ctx context.Context, id string) error {
	return s.core.MarkDelivered(ctx, id)
}

// DeleteExpired removes challenges expired by now, sessions that expired
// before now, outbox messages delivered before now, the counters of client
// networks forgotten by now and the budgets whole again by now, and reports
// how many rows went. Sends and code checks purge the same rows (but
// sessions and the outbox) a few at a time on their own, so nothing depends
// on it; a host may still run it from a ticker.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	return s.core.DeleteExpired(ctx, now)
}

// Check reports whether the store can serve, without changing anything:
// the database is reachable, the schema is migrated up to what this code
// needs (a missing migration is named), and with HostUsers every query is
// set, prepares (the field at fault is named), uses the parameters it needs
// and no other, and UserByPhone selects three columns where the database
// can tell without running it. Each problem is an error wrapping
// store.ErrNotReady, all of them joined (errors.Join). Call it at start,
// after Migrate, and refuse to serve when it fails.
func (s *Store) Check(ctx context.Context) error {
	return s.core.Ready(ctx, s.describe, paramPrefixes)
}

// Migrate brings the schema up to date: it applies, in order and in one
// transaction, the embedded migrations (migrations/NNNN_name.sql) not yet
// recorded in otpreset_schema_migrations, and records them. With HostUsers
// it skips the migrations of otpreset_users (NNNN_users*.sql). Calling it
// again does nothing; concurrent calls from several processes are
// serialised. The store never changes the schema unless Migrate is called.
func (s *Store) Migrate(ctx context.Context) error { return s.core.Migrate(ctx) }

// SchemaVersion reports the highest migration applied. Before the first
// Migrate the table is missing and it returns an error.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) { return s.core.SchemaVersion(ctx) }

// LatestSchemaVersion is the version Migrate brings the schema to.
func (s *Store) LatestSchemaVersion() int { return s.core.LatestSchemaVersion() }

// core translates cfg for the shared SQL code.
func (cfg Config) core() sqlcore.Config {
	c := sqlcore.Config{Logger: cfg.Logger, Now: cfg.Now}
	if h := cfg.HostUsers; h != nil {
		copied := *h // the queries as they were at New
		c.HostUsers = &copied
	}
	return c
}
