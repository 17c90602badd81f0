package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

// spentCodes consumes every code and clears nothing: ApplyReset's first and
// last steps, out of the way of what these tests look at.
type spentCodes struct{ store.Challenges }

func (spentCodes) ConsumeChallenge(context.Context, store.CodeCheck) error { return nil }
func (spentCodes) ClearCounters(context.Context, string, string) error     { return nil }

// failingRevoke fails every revocation, after running meanwhile (what other
// requests do while this reset is between its steps).
type failingRevoke struct {
	store.Sessions
	meanwhile func()
}

var errRevoke = errors.New("sessions: connection reset")

func (f failingRevoke) RevokeSessions(context.Context, string, string) (int, error) {
	if f.meanwhile != nil {
		f.meanwhile()
	}
	return 0, errRevoke
}

// TestApplyResetUndo: in a store that is not a Resetter, a step that fails
// after the password was replaced writes the previous password back, but
// only over this reset's own: a reset of the same phone that succeeded in
// the meantime (with a later code) is not undone by the one that failed.
func TestApplyResetUndo(t *testing.T) {
	const tenant, phone, uid = "t", "+15550100", "u1"
	previous := store.PasswordChange{TenantID: tenant, UserID: uid, PasswordHash: "hash-before",
		Profile: json.RawMessage(`{"Uid":"u1"}`)}
	failing := store.Reset{
		Check:    store.CodeCheck{TenantID: tenant, Phone: phone, CodeHash: []byte("code-1")},
		Change:   store.PasswordChange{TenantID: tenant, UserID: uid, PasswordHash: "hash-of-failing-reset"},
		Previous: &previous,
	}
	for _, tc := range []struct {
		name      string
		meanwhile string // the hash another, successful reset sets during the failing one ("": none)
		want      string
	}{
		{name: "nothing meanwhile: the previous password is back", want: "hash-before"},
		{name: "a reset succeeded meanwhile: its password stays", meanwhile: "hash-of-later-reset", want: "hash-of-later-reset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			users := memstore.New()
			require.NoError(t, users.AddUser(ctx, store.User{TenantID: tenant, ID: uid, Phone: phone,
				PasswordHash: previous.PasswordHash, Profile: previous.Profile}))
			sessions := failingRevoke{Sessions: users}
			if tc.meanwhile != "" {
				sessions.meanwhile = func() {
					require.NoError(t, users.UpdatePassword(ctx, store.PasswordChange{TenantID: tenant, UserID: uid,
						PasswordHash: tc.meanwhile}))
				}
			}
			s := store.Composite{Users: users, Challenges: spentCodes{}, Sessions: sessions}

			err := store.ApplyReset(ctx, s, failing)
			require.ErrorIs(t, err, errRevoke)
			got, err := users.UserByPhone(ctx, tenant, phone)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.PasswordHash)
		})
	}
}
