package sqlite

import (
	"context"

	"github.com/otpreset/go/store"
)

// The counters that guard a phone's codes, and the steps that take them.
// Each step is one BEGIN IMMEDIATE transaction, which holds SQLite's write
// lock from its start, so steps on one database never interleave (from any
// connection or process) and each applies the pure reference steps of
// package store to the rows it reads. SQLite has no round trips to save.

// IssueChallenge implements store.Challenges in one transaction: the send
// counted against iss.SendLimit in the network's row, then the phone's live
// code kept or iss.Challenge saved (see store.Challenges).
func (s *Store) IssueChallenge(ctx context.Context, iss store.Issue) (store.Issued, error) {
	return s.core.IssueChallenge(ctx, iss)
}

// IssueCode implements store.CodeIssuer in one transaction: UserByPhone
// (otpreset_users, or HostUsers.UserByPhone) and IssueChallenge's step.
func (s *Store) IssueCode(ctx context.Context, iss store.Issue) (store.Issued, error) {
	return s.core.IssueCode(ctx, iss)
}

// CheckCode implements store.Challenges in one transaction: the network's
// lockout, the phone's budget, the comparison (not consuming the code) and
// a failed comparison counted against the three. No users table is read.
func (s *Store) CheckCode(ctx context.Context, a store.Attempt) (store.Verdict, error) {
	return s.core.CheckCode(ctx, a)
}

// ClearCounters implements store.Challenges in one transaction: every
// network's row of the phone and its budget are deleted.
func (s *Store) ClearCounters(ctx context.Context, tenantID, phone string) error {
	return s.core.ClearCounters(ctx, tenantID, phone)
}
