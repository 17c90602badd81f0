package password

import (
	"context"
	"testing"

	"github.com/alexedwards/argon2id"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var cheap = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// TestVerifyLogsInWhatAResetSet: a reset hashes the NFKC form Check returns;
// Verify normalises the same way, so the full-width password typed at login
// matches, as does its ASCII form, while a plain Compare of the typed form
// would not.
func TestVerifyLogsInWhatAResetSet(t *testing.T) {
	ctx := context.Background()
	h := NewArgon2idHasher(cheap, 1)
	typed := "ＳｔｒｏｎｇＰ＠ｓｓ"
	normalized, err := Policy{}.Check(typed, "")
	require.NoError(t, err)
	hash, err := h.Hash(ctx, normalized)
	require.NoError(t, err)

	for _, pw := range []string{typed, "StrongP@ss"} {
		ok, err := h.Verify(ctx, pw, hash)
		require.NoError(t, err)
		assert.True(t, ok, pw)
	}
	ok, err := h.Compare(ctx, typed, hash)
	require.NoError(t, err)
	assert.False(t, ok, "without normalising, the full-width form does not match")

	ok, err = h.Verify(ctx, "StrongP@sss", hash)
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = h.Verify(ctx, "StrongP@ss\xff", hash)
	require.NoError(t, err)
	assert.False(t, ok, "invalid UTF-8 never matches")
}

func TestDefaultArgon2idParamsIsACopy(t *testing.T) {
	p := DefaultArgon2idParams()
	p.Memory = 1
	assert.Equal(t, uint32(19*1024), DefaultArgon2idParams().Memory)
	assert.Equal(t, uint32(2), DefaultArgon2idParams().Iterations)
}
