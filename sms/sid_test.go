package sms_test

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/otpreset/go/sms"
)

var sidRe = regexp.MustCompile(`^(AC|SM|CA)[0-9a-f]{32}$`)

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestNewSid(t *testing.T) {
	fixed := bytes.NewReader(bytes.Repeat([]byte{0xab}, 16))
	assert.Equal(t, "SM"+strings.Repeat("ab", 16), sms.NewSid("SM", fixed))

	a, b := sms.NewSid("SM", nil), sms.NewSid("SM", nil)
	assert.Regexp(t, sidRe, a)
	assert.NotEqual(t, a, b, "crypto/rand ids must differ")

	// A short or failing reader falls back to crypto/rand, never a
	// predictable id.
	c := sms.NewSid("CA", failingReader{})
	assert.Regexp(t, sidRe, c)
	assert.NotEqual(t, "CA"+strings.Repeat("00", 16), c)
	assert.Regexp(t, sidRe, sms.NewSid("AC", bytes.NewReader([]byte{1, 2, 3})))
}

func TestSidPrefix(t *testing.T) {
	assert.Equal(t, "SM", sms.SidPrefix(false))
	assert.Equal(t, "CA", sms.SidPrefix(true))
}
