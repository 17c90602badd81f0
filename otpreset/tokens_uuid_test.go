package otpreset_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset/otpresettest"
)

// javaUUID is the form java.util.UUID.toString writes and every version of
// UUID.fromString reads: 8-4-4-4-12 lower-case hex digits. Here also random
// (version 4, RFC 4122 variant), as the default tokens are.
var javaUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestDefaultTokensAreUUIDs: without Config.Tokens, the access_token and
// refresh_token of a reset's answer are UUIDs, because LoginRadius's Java
// SDK decodes both as java.util.UUID and fails on anything else (a JWT,
// say). Each reset issues new ones.
func TestDefaultTokensAreUUIDs(t *testing.T) {
	const phone = "+919999999999"
	env := otpresettest.New(t)
	env.AddUser(phone, "old password 1")
	seen := map[string]bool{}
	for i, pw := range []string{"new password 1", "new password 2"} {
		require.Equal(t, http.StatusOK, env.Send(phone).Code)
		rec := env.Reset(phone, env.Code(phone), pw)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var answer struct {
			Data struct {
				AccessToken  *string `json:"access_token"`
				RefreshToken *string `json:"refresh_token"`
			}
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &answer))
		require.NotNil(t, answer.Data.AccessToken, "reset %d answers an access_token: %s", i, rec.Body)
		require.NotNil(t, answer.Data.RefreshToken, "reset %d answers a refresh_token: %s", i, rec.Body)
		for name, tok := range map[string]string{"access_token": *answer.Data.AccessToken, "refresh_token": *answer.Data.RefreshToken} {
			assert.Regexp(t, javaUUID, tok, "%s of reset %d", name, i)
			u, err := uuid.Parse(tok)
			require.NoError(t, err, "%s of reset %d", name, i)
			assert.Equal(t, uuid.Version(4), u.Version(), name)
			assert.Equal(t, uuid.RFC4122, u.Variant(), name)
			assert.Equal(t, tok, u.String(), "%s is in the canonical form", name)
			assert.False(t, seen[tok], "%s %s was issued before", name, tok)
			seen[tok] = true
		}
	}
}
