package sqltest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store/internal/sqlcore"
)

// ProfileWithoutColumn: a host table without a profile column (UserByPhone
// selects NULL) gives users a minimal profile, Uid and ID the user's id,
// PhoneId the phone, IsActive and PhoneIdVerified true, and the same
// LoginLockedType before a reset (from the store) as after it (in the
// reset's answer, through otpreset's handler, and from the store again).
func ProfileWithoutColumn(t *testing.T, b Backend) {
	s, _ := b.Open(t, sqlcore.Config{HostUsers: UsersQueries()}, b.UsersSetup())
	env := otpresettest.New(t, otpresettest.WithStore(s))
	const phone = "+919999999999"
	u := env.AddUser(phone, "old password 1")
	require.NotEmpty(t, u.ID)
	want := map[string]any{"Uid": u.ID, "ID": u.ID, "PhoneId": phone, "IsActive": true, "PhoneIdVerified": true}
	profileOf := func(raw []byte) map[string]any {
		t.Helper()
		var p map[string]any
		require.NoError(t, json.Unmarshal(raw, &p))
		for k, v := range want {
			assert.Equal(t, v, p[k], k)
		}
		return p
	}
	before := profileOf(u.Profile)
	require.NotEmpty(t, before["LoginLockedType"])

	require.Equal(t, http.StatusOK, env.Send(phone).Code)
	rec := env.Reset(phone, env.Code(phone), "new password 1")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var answer struct {
		Data struct{ Profile json.RawMessage }
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &answer))
	after := profileOf(answer.Data.Profile)
	assert.Equal(t, before["LoginLockedType"], after["LoginLockedType"], "LoginLockedType before and after a reset")

	again, err := s.UserByPhone(Ctx(t), otpresettest.TenantID, phone)
	require.NoError(t, err)
	assert.Equal(t, before, profileOf(again.Profile), "the store's profile after the reset")
	assert.True(t, env.PasswordWorks(phone, "new password 1"))
}
