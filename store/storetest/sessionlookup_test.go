package storetest_test

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/storetest"
)

// noLookup is a store without storetest.SessionLookup: memstore seen through
// store.Store alone (plus AddUser for the suite).
type noLookup struct {
	store.Store
	seed storetest.UserSeeder
}

func (s noLookup) AddUser(ctx context.Context, u store.User) error { return s.seed.AddUser(ctx, u) }

func newNoLookup() noLookup {
	m := memstore.New()
	return noLookup{Store: m, seed: m}
}

// A store that cannot look sessions up still passes the suite, which then
// checks revocation through RevokeSessions's counts.
func TestRunWithoutSessionLookup(t *testing.T) {
	_, ok := store.Store(newNoLookup()).(storetest.SessionLookup)
	require.False(t, ok, "the wrapper must hide LookupSession")
	storetest.Run(t, func(*testing.T) store.Store { return newNoLookup() })
}

// overRevoking revokes every session of the user's tenant but reports only
// the user's: a defect the suite must catch without SessionLookup.
type overRevoking struct {
	noLookup
	mu    sync.Mutex
	users map[string]map[string]bool // tenant -> users with sessions
}

func (s *overRevoking) CreateSession(ctx context.Context, sess store.Session) error {
	s.mu.Lock()
	if s.users[sess.TenantID] == nil {
		s.users[sess.TenantID] = map[string]bool{}
	}
	s.users[sess.TenantID][sess.UserID] = true
	s.mu.Unlock()
	return s.noLookup.CreateSession(ctx, sess)
}

func (s *overRevoking) RevokeSessions(ctx context.Context, tenantID, userID string) (int, error) {
	n, err := s.noLookup.RevokeSessions(ctx, tenantID, userID)
	if err != nil {
		return n, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for other := range s.users[tenantID] {
		if _, err := s.noLookup.RevokeSessions(ctx, tenantID, other); err != nil {
			return n, err
		}
	}
	return n, nil
}

// TestRevocationCheckedWithoutSessionLookup runs the suite on overRevoking in
// a child process and requires it to fail on the sessions it wrongly ended.
func TestRevocationCheckedWithoutSessionLookup(t *testing.T) {
	if os.Getenv("STORETEST_CHILD") == "over-revoking" {
		storetest.Run(t, func(*testing.T) store.Store {
			return &overRevoking{noLookup: newNoLookup(), users: map[string]map[string]bool{}}
		})
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRevocationCheckedWithoutSessionLookup$", "-test.v")
	cmd.Env = append(os.Environ(), "STORETEST_CHILD=over-revoking")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the suite passed a store that revokes other users' sessions:\n%s", out)
	assert.Contains(t, string(out), "another user's session is left")
	assert.Contains(t, string(out), "--- FAIL: TestRevocationCheckedWithoutSessionLookup/Sessions/Revoke")
}
