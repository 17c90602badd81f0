package otpreset

import (
	"hash/maphash"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newPhoneCache is an empty cache of the package's shape (generations of
// the given size), so that tests neither see nor disturb what the rest of
// the package cached.
func newPhoneCache(generation int) *phoneCache {
	return &phoneCache{seed: maphash.MakeSeed(), generation: generation}
}

// size counts c's entries (a key in both generations counts twice, as it
// takes two map slots) and their key bytes.
func (c *phoneCache) size() (entries, keyBytes int) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for _, m := range []map[string]phoneInfo{sh.young, sh.old} {
			for k := range m {
				keyBytes += len(k)
			}
			entries += len(m)
		}
		sh.mu.Unlock()
	}
	return entries, keyBytes
}

// holds reports whether s is cached, without moving it.
func (c *phoneCache) holds(s string) bool {
	sh := c.shard(s)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, young := sh.young[s]
	_, old := sh.old[s]
	return young || old
}

// uncached is the answer the cache must give: lookup's without a cache.
func uncached(s string) (phoneInfo, error) {
	if len(s) > maxPhoneInput {
		return phoneInfo{}, ErrInvalidPhone
	}
	return parsePhone(s)
}

// TestPhoneCacheAnswersAsParse: a cached answer, first and later, is the
// uncached one, for phones that parse and phones that do not.
func TestPhoneCacheAnswersAsParse(t *testing.T) {
	inputs := []string{
		"+919999999999", "+91 99999 99999", " +919999999999 ", "00919999999999",
		"+1 (415) 555-2671", "+442071838750", "+8801711000000", "+4930123456",
		"919999999999", "+0123", "", " ", "+", "00", "+91999", "+9199999999999999999",
		"+8100oo000A0000000", "+1-800-FLOWERS", "+９１９９９９９９９９９９", "+91\u00a099999 99999",
		"+91" + strings.Repeat(" ", 60) + "9", strings.Repeat("9", maxPhoneInput+1), "\xff\xfe",
	}
	c := newPhoneCache(phoneGeneration)
	for _, in := range inputs {
		want, wantErr := uncached(in)
		for round := range 3 { // a miss, then hits
			got, err := c.lookup(in)
			assert.Equal(t, wantErr, err, "%q round %d", in, round)
			assert.Equal(t, want, got, "%q round %d", in, round)
		}
		assert.Equal(t, wantErr == nil, c.holds(in), "%q: cached exactly when it parsed", in)
	}
}

// TestPhoneCacheKeepsNoRefusal: invalid phones, long or short, leave nothing
// behind, so no client can grow the server's memory with them (4,000 sends
// of distinct 60 kB invalid phones once took the quickstart from 78 to 273 MB).
func TestPhoneCacheKeepsNoRefusal(t *testing.T) {
	c := newPhoneCache(phoneGeneration)
	for i := range 200 {
		_, err := c.lookup("+91" + strconv.Itoa(i) + strings.Repeat("x", 60<<10))
		assert.ErrorIs(t, err, ErrInvalidPhone)
		_, err = c.lookup("+0" + strconv.Itoa(i))
		assert.ErrorIs(t, err, ErrInvalidPhone)
	}
	entries, _ := c.size()
	assert.Zero(t, entries, "refused phones are not cached")
}

// TestPhoneCacheBound: however many distinct phones come, the cache holds at
// most phoneCacheMax entries of at most maxPhoneInput key bytes each, and a
// key does not pin the string it was cut from.
func TestPhoneCacheBound(t *testing.T) {
	c := newPhoneCache(phoneGeneration)
	info := phoneInfo{e164: "+919999999999", countryCode: 91}
	for i := range 100_000 {
		big := "+9199" + strconv.Itoa(10000000+i) + strings.Repeat(" ", 1000)
		c.put(big[:13], info)
		if i%3 == 0 { // hits in the old generation move entries too
			c.get("+9199" + strconv.Itoa(10000000+i/2))
		}
	}
	entries, keyBytes := c.size()
	assert.LessOrEqual(t, entries, phoneCacheMax)
	assert.LessOrEqual(t, keyBytes, phoneCacheMax*maxPhoneInput)
	for i := range c.shards {
		for _, m := range []map[string]phoneInfo{c.shards[i].young, c.shards[i].old} {
			for k := range m {
				assert.Len(t, k, 13)
				assert.LessOrEqual(t, len(m), phoneGeneration)
			}
		}
	}
}

// TestPhoneCacheKeepsWorkingSet: phones served in turn, 10,000 of them (a
// load that a cache of the last 4,096 phones, dropped whole when full,
// never once hit), all stay cached.
func TestPhoneCacheKeepsWorkingSet(t *testing.T) {
	c := newPhoneCache(phoneGeneration)
	phone := func(i int) string { return "+9199990" + strconv.Itoa(100000 + i)[1:] }
	for range 3 {
		for i := range 10_000 {
			_, err := c.lookup(phone(i))
			require.NoError(t, err)
		}
	}
	missing := 0
	for i := range 10_000 {
		if !c.holds(phone(i)) {
			missing++
		}
	}
	assert.Zero(t, missing)
}

// TestPhoneCacheConcurrent: goroutines looking up overlapping phones, hits,
// misses, promotions and swaps (generations of 8), each get the uncached
// answer; under -race it also shows the cache takes its locks.
func TestPhoneCacheConcurrent(t *testing.T) {
	const gen, n = 8, 40 * phoneShards
	c := newPhoneCache(gen)
	type answer struct {
		info phoneInfo
		err  error
	}
	inputs, wants := make([]string, n), make([]answer, n)
	for i := range inputs {
		inputs[i] = "+9199" + strconv.Itoa(10000000+i)
		if i%7 == 0 {
			inputs[i] = "+0" + strconv.Itoa(i) // refused
		}
		wants[i].info, wants[i].err = uncached(inputs[i])
	}
	var wg sync.WaitGroup
	for g := range max(4, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for k := range 4 * n {
				i := (k * (g + 1) / 3) % n // runs of the same phone, then others
				got, err := c.lookup(inputs[i])
				if got != wants[i].info || err != wants[i].err {
					t.Errorf("%q: got %v %v, want %v", inputs[i], got, err, wants[i])
					return
				}
			}
		})
	}
	wg.Wait()
	entries, _ := c.size()
	assert.LessOrEqual(t, entries, 2*gen*phoneShards)
}
