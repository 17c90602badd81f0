package sqltest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/internal/sqlcore"
)

// MoreThanOneRow: a host UpdatePassword that changes several rows (WHERE id
// <= @user_id) fails, as a fault rather than ErrNotFound, and leaves every
// row as it was, called alone, as a Reset's step (whose code stays usable),
// and through otpreset's handler (a 950).
func MoreThanOneRow(t *testing.T, b Backend) {
	q := UsersQueries()
	q.UpdatePassword = `UPDATE users SET password_hash = @password_hash WHERE id <= @user_id`
	s, core := b.Open(t, sqlcore.Config{HostUsers: q}, b.UsersSetup())
	ctx := Ctx(t)
	var ids []string
	for i := range 3 {
		phone := fmt.Sprint("+1555010", i)
		require.NoError(t, core.AddUser(ctx, store.User{Phone: phone, PasswordHash: fmt.Sprint("old-", i)}))
		u, err := s.UserByPhone(ctx, "t", phone)
		require.NoError(t, err)
		ids = append(ids, u.ID)
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		for i := range ids {
			u, err := s.UserByPhone(ctx, "t", fmt.Sprint("+1555010", i))
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprint("old-", i), u.PasswordHash, "user %s", u.ID)
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	change := store.PasswordChange{TenantID: "t", UserID: ids[1], PasswordHash: "new", Profile: json.RawMessage(`{}`), ChangedAt: now}

	err := s.UpdatePassword(ctx, change)
	require.ErrorContains(t, err, "HostUsers.UpdatePassword changed 2 rows, not one: rolled back")
	require.NotErrorIs(t, err, store.ErrNotFound)
	unchanged(t)

	c := store.Challenge{TenantID: "t", Phone: "+15550102", CodeHash: []byte("code"), CreatedAt: now,
		ExpiresAt: now.Add(time.Minute), MaxAttempts: 5}
	_, err = s.IssueChallenge(ctx, store.Issue{Challenge: c})
	require.NoError(t, err)
	change.UserID = ids[2]
	check := store.CodeCheck{TenantID: "t", Phone: c.Phone, CodeHash: c.CodeHash, Now: now}
	err = s.(store.Resetter).Reset(ctx, store.Reset{Check: check, Change: change})
	require.ErrorContains(t, err, "HostUsers.UpdatePassword changed 3 rows, not one: rolled back")
	unchanged(t)
	v, err := s.CheckCode(ctx, store.Attempt{Check: check})
	require.NoError(t, err)
	require.NoError(t, v.Code, "the code stays usable")

	// Through otpreset's handler: a 950, the old password still works, and
	// the code still does.
	env := otpresettest.New(t, otpresettest.WithStore(s))
	env.AddUser("+919999999999", "old password 1")
	require.Equal(t, http.StatusOK, env.Send("+919999999999").Code)
	code := env.Code("+919999999999")
	rec := env.Reset("+919999999999", code, "new password 1")
	require.Equal(t, http.StatusInternalServerError, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"ErrorCode":950`)
	assert.True(t, env.PasswordWorks("+919999999999", "old password 1"))
	unchanged(t)
	rec = env.Reset("+919999999999", code, "new password 1")
	assert.Equal(t, http.StatusInternalServerError, rec.Code, "the code is not spent (a spent one is a 401): %s", rec.Body.String())
}
