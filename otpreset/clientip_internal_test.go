package otpreset

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRightmostReadsABoundedSuffix counts the work instead of timing it:
// of any forwarding header, at most maxForwardedEntries entries from its
// last maxForwardedBytes bytes are examined.
func TestRightmostReadsABoundedSuffix(t *testing.T) {
	const mb = 1 << 20
	fill := func(s string) string { return strings.Repeat(s, mb/len(s)) }
	headers := map[string][]string{
		"comma-one":    {fill(",1")},
		"empty":        {fill(",")},
		"trusted":      {fill("127.0.0.1,")},
		"one entry":    {fill("1")},
		"params":       {"for=127.0.0.1" + fill(";a=b")},
		"many lines":   slices.Repeat([]string{"1"}, 1<<16),
		"long lines":   slices.Repeat([]string{fill("127.0.0.1,")[:1000]}, 100),
		"mixed":        {fill("a"), fill("10.0.0.1,")},
		"short header": {"203.0.113.7, 10.0.0.1"},
	}
	for name, values := range headers {
		joined := strings.Join(values, ",")
		n, bytes := 0, 0
		for e := range rightmost(values) {
			assert.True(t, strings.HasSuffix(joined[:len(joined)-bytes], e), "%s: entries in order from the right", name)
			n++
			bytes += len(e) + 1
		}
		assert.LessOrEqual(t, n, maxForwardedEntries, name)
		assert.LessOrEqual(t, bytes, maxForwardedBytes+1, name)
	}
}

func TestRightmostEntries(t *testing.T) {
	collect := func(values ...string) []string {
		var got []string
		for e := range rightmost(values) {
			got = append(got, e)
		}
		return got
	}
	assert.Equal(t, []string{"c", " b", "a"}, collect("a, b,c"))
	assert.Equal(t, []string{"d", "c", "b", "a"}, collect("a,b", "c", "d"))
	assert.Equal(t, []string{"", "a"}, collect("a,"))
	assert.Equal(t, []string{"b", ""}, collect("", "b"))
	// At most 16 entries, across lines.
	got := collect(strings.Repeat("x,", 10)+"y", strings.Repeat("z,", 10)+"z")
	assert.Len(t, got, maxForwardedEntries)
	assert.Equal(t, "y", got[11])
	// 4096 bytes: read whole; one more and the entry the bound cuts is
	// dropped, not read in part.
	pad := strings.Repeat(" ", maxForwardedBytes-len("1.2.3.4,5.6.7.8"))
	assert.Equal(t, []string{"5.6.7.8", pad + "1.2.3.4"}, collect(pad+"1.2.3.4,5.6.7.8"))
	assert.Equal(t, []string{"5.6.7.8"}, collect("9"+pad+"1.2.3.4,5.6.7.8"))
	// The bound on a comma: the entry right of it is whole.
	assert.Equal(t, []string{"5.6.7.8", pad + "1.2.3.4"}, collect("9,"+pad+"1.2.3.4,5.6.7.8"))
	// Lines count toward the bytes with the comma that joins them.
	line := strings.Repeat("1", maxForwardedBytes/2-1)
	assert.Equal(t, []string{line, line}, collect("a", line, line))
	assert.Equal(t, []string{line + "1", line}, collect("a", line, line+"1")[:2])
	assert.Len(t, collect("a", line, line+"1"), 2)
	// Stopping early stops.
	for range rightmost([]string{"a,b", "c"}) {
		break
	}
}

// TestRemoteIPIsCanonical: the connection's address is the address's own
// text (IPv4-mapped unmapped, IPv6 lower-cased and shortened, zone kept),
// whether or not it came in that form; what is not an address is passed on.
func TestRemoteIPIsCanonical(t *testing.T) {
	for _, c := range []struct{ remote, want string }{
		{"192.0.2.1:1234", "192.0.2.1"},
		{"192.0.2.1", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:1234", "192.0.2.1"},
		{"[2001:DB8::1]:1234", "2001:db8::1"},
		{"[2001:0db8:0000:0000:0000:0000:0000:0001]:80", "2001:db8::1"},
		{"[2001:db8::1]:80", "2001:db8::1"},
		{"[fe80::1%eth0]:80", "fe80::1%eth0"},
		{"[fe80::1%" + strings.Repeat("z", 80) + "]:80", "fe80::1%" + strings.Repeat("z", 80)},
		{"not an address", "not an address"},
		{"@", "@"},
	} {
		r := &http.Request{RemoteAddr: c.remote}
		assert.Equal(t, c.want, remoteIP(r), c.remote)
	}
}
