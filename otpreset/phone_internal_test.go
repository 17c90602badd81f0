package otpreset

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func phoneCacheLen() (entries, keyBytes int) {
	phoneCache.Lock()
	defer phoneCache.Unlock()
	for k := range phoneCache.m {
		keyBytes += len(k)
	}
	return len(phoneCache.m), keyBytes
}

// TestPhoneCacheKeepsNoRefusal: invalid phones, long or short, leave nothing
// behind, so no client can grow the server's memory with them (4,000 sends
// of distinct 60 kB invalid phones once took the quickstart from 78 to 273 MB).
func TestPhoneCacheKeepsNoRefusal(t *testing.T) {
	before, _ := phoneCacheLen()
	for i := range 200 {
		long := "+91" + strconv.Itoa(i) + strings.Repeat("x", 60<<10)
		_, err := NormalizePhone(long)
		assert.ErrorIs(t, err, ErrInvalidPhone)
		_, err = NormalizePhone("+0" + strconv.Itoa(i))
		assert.ErrorIs(t, err, ErrInvalidPhone)
	}
	after, _ := phoneCacheLen()
	assert.Equal(t, before, after, "refused phones are not cached")

	// Valid phones are, up to the bound, each key no longer than maxPhoneInput.
	for i := range phoneCacheSize + 10 {
		_, err := NormalizePhone("+9199" + strconv.Itoa(10000000+i))
		assert.NoError(t, err)
	}
	entries, keyBytes := phoneCacheLen()
	assert.LessOrEqual(t, entries, phoneCacheSize)
	assert.LessOrEqual(t, keyBytes, phoneCacheSize*maxPhoneInput)
}
