package testsize

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPick(t *testing.T) {
	t.Setenv(Env, "")
	assert.False(t, Long())
	assert.Equal(t, 100, Pick(100, 400))
	t.Setenv(Env, "0")
	assert.Equal(t, 100, Pick(100, 400))
	t.Setenv(Env, "1")
	assert.Equal(t, !testing.Short(), Long())
	if !testing.Short() {
		assert.Equal(t, 400, Pick(100, 400))
	}
}
