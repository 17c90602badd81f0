package sms

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

type waitErr time.Duration

func (e waitErr) Error() string             { return "wait" }
func (e waitErr) RetryAfter() time.Duration { return time.Duration(e) }

func TestRetryAfter(t *testing.T) {
	d, ok := retryAfter(fmt.Errorf("x: %w", waitErr(3*time.Second)))
	assert.True(t, ok)
	assert.Equal(t, 3*time.Second, d)
	_, ok = retryAfter(waitErr(0))
	assert.False(t, ok, "no wait asked")
	_, ok = retryAfter(errors.New("x"))
	assert.False(t, ok, "no RetryAfter method")
}
