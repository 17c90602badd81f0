package otpreset_test

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store"
)

// The seed's example answer decodes into ResetResponse and encodes back to
// equal JSON: no field of LoginRadius's Profile schema is lost.
func TestSeedResponseRoundTrip(t *testing.T) {
	seed, err := os.ReadFile("testdata/seed-reset-response.json")
	require.NoError(t, err)
	var resp otpreset.ResetResponse
	require.NoError(t, json.Unmarshal(seed, &resp))
	require.NotNil(t, resp.Data)
	p := resp.Data.Profile
	assert.Equal(t, "577fabca-a33e-4a08-96e6-0ade8d846613", p.Uid)
	assert.Equal(t, "+1-555-123-4567", p.PhoneId)
	assert.Equal(t, []string{"Admin", "User"}, p.Roles)
	assert.Equal(t, "Photography", p.CustomFields["hobby"])
	assert.Equal(t, "john.doe@example.com", p.Email[0].Value)
	assert.Equal(t, "None", p.LoginLockedType)
	require.NotNil(t, p.LastPasswordChangeDate)
	assert.Equal(t, 2024, p.LastPasswordChangeDate.Year())
	assert.JSONEq(t, `{"Code":"US","Name":"United States"}`, string(p.Extra("Country")))

	out, err := json.Marshal(resp)
	require.NoError(t, err)
	assert.JSONEq(t, string(seed), string(out))
}

func TestProfileExtraFields(t *testing.T) {
	var p otpreset.Profile
	require.NoError(t, json.Unmarshal([]byte(`{"Uid":"u1","HostOnly":{"a":[1,2]}}`), &p))
	p.SetExtra("Added", json.RawMessage(`true`))
	p.SetExtra("Uid", json.RawMessage(`"ignored: typed fields are set directly"`))
	out, err := json.Marshal(p)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m))
	assert.Equal(t, "u1", m["Uid"])
	assert.Equal(t, map[string]any{"a": []any{1.0, 2.0}}, m["HostOnly"])
	assert.Equal(t, true, m["Added"])
}

// A user whose store keeps no profile is answered as an ordinary account:
// its id in Uid and ID, its phone in PhoneId, active, the phone verified,
// not locked. A stored profile keeps what it says (here an inactive,
// unverified account), and only gets the id where it has none.
func TestResetProfileDefaults(t *testing.T) {
	for _, c := range []struct {
		name    string
		profile json.RawMessage
		want    map[string]any
	}{
		{"no profile", nil, map[string]any{"Uid": "u-7", "ID": "u-7", "PhoneId": "+919999999999",
			"IsActive": true, "PhoneIdVerified": true, "LoginLockedType": "None"}},
		{"empty profile", json.RawMessage(`{}`), map[string]any{"Uid": "u-7", "ID": "u-7", "PhoneId": "+919999999999",
			"IsActive": true, "PhoneIdVerified": true, "LoginLockedType": "None"}},
		{"a profile of its own", json.RawMessage(`{"Uid":"lr-1","IsActive":false,"PhoneIdVerified":false,"FirstName":"Asha"}`),
			map[string]any{"Uid": "lr-1", "ID": "u-7", "PhoneId": "+919999999999",
				"IsActive": false, "PhoneIdVerified": false, "LoginLockedType": "None", "FirstName": "Asha"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := otpresettest.New(t)
			hash, err := env.Hasher.Hash(t.Context(), "old password 1")
			require.NoError(t, err)
			require.NoError(t, env.Store.(otpresettest.UserSeeder).AddUser(t.Context(), store.User{
				TenantID: otpresettest.TenantID, ID: "u-7", Phone: "+919999999999", PasswordHash: hash, Profile: c.profile}))
			require.Equal(t, http.StatusOK, env.Send("+919999999999").Code)
			rec := env.Reset("+919999999999", env.Code("+919999999999"), "new password 1")
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			var answer struct {
				Data struct{ Profile map[string]any }
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &answer))
			for k, v := range c.want {
				assert.Equal(t, v, answer.Data.Profile[k], k)
			}
		})
	}
}
