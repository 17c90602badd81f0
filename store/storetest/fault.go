package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
)

// ResetFault checks the promise a transactional store makes when a Reset
// fails part way: nothing is half done, the old password hash and profile are
// still there, no session was revoked or created, no outbox message was
// written, and the code is still usable.
//
// s must be a fresh, empty store implementing store.Resetter and UserSeeder.
// ResetFault seeds a user, a code and sessions, then calls arm, which makes
// the next Reset on s fail after the code has been consumed inside the
// transaction (a test hook, a connection killed mid-reset, a host users table
// whose update fails) and returns heal, which undoes the fault. The failing
// Reset's error is returned so the caller can check it is the injected one.
// After heal, ResetFault checks the state and that a second Reset with the
// same code succeeds.
func ResetFault(t *testing.T, s store.Store, arm func(t *testing.T) (heal func())) error {
	t.Helper()
	return Shape{}.ResetFault(t, s, arm)
}

// ResetFault is the package's ResetFault for a store of this shape.
func (sh Shape) ResetFault(t *testing.T, s store.Store, arm func(t *testing.T) (heal func())) error {
	t.Helper()
	_, ok := s.(UserSeeder)
	require.Truef(t, ok, "%T does not implement storetest.UserSeeder", s)
	f := sh.seedReset(t, s, base(), 5)
	rs := resetter(t, s)
	r := f.reset(t, f.challenge.CodeHash)

	heal := arm(t)
	err := rs.Reset(ctxOf(t), r)
	heal()
	require.Error(t, err, "Reset must fail while the fault is armed")

	f.requireUnchanged(t, r)
	require.NoError(t, verifyChallenge(ctxOf(t), s, r.Check), "the code must still be usable after a failed reset")
	require.NoError(t, rs.Reset(ctxOf(t), f.reset(t, f.challenge.CodeHash)), "a retry with the same code must succeed")
	return err
}
