package otpreset_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
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
