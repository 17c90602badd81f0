package sms

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// hostileAcceptLanguage is 1 MB headers of shapes that once cost a parse
// per entry with no bound: entries that do not parse, carry q=0 or are
// empty were not counted toward the 16-entry cap, so ",1" repeated cost
// 260-315 ms of CPU per send.
func hostileAcceptLanguage() map[string]string {
	const mb = 1 << 20
	fill := func(s string) string { return strings.Repeat(s, mb/len(s)) }
	return map[string]string{
		"comma-one":     fill(",1"),
		"empty":         fill(","),
		"unparsable":    fill("!!!,"),
		"q=0":           fill("en;q=0,"),
		"valid":         fill("fr;q=0.9,"),
		"one entry":     fill("a"),
		"long subtags":  "en" + fill("-abcdefgh"),
		"spaces":        fill(" ,"),
		"many q params": "en" + fill(";q=0.5"),
	}
}

// TestAcceptReadsABoundedPrefix counts the work instead of timing it: of
// any header, at most maxAcceptEntries entries from its first
// maxAcceptBytes bytes reach the parser.
func TestAcceptReadsABoundedPrefix(t *testing.T) {
	for name, h := range hostileAcceptLanguage() {
		entries := acceptEntries(h)
		assert.LessOrEqual(t, len(entries), maxAcceptEntries, name)
		n := 0
		for _, e := range entries {
			n += len(e) + 1
		}
		assert.LessOrEqual(t, n, maxAcceptBytes+1, name)
		assert.True(t, strings.HasPrefix(h, strings.Join(entries, ",")), "%s: a prefix of the header, in order", name)
	}
}

// TestAcceptAllocatesAsAShortHeader: parsing any 1 MB header allocates no
// more than parsing a short header of 16 entries a browser might send (the
// work of a parse shows in its allocations; the unbounded parse allocated
// for each of the half million entries of ",1").
func TestAcceptAllocatesAsAShortHeader(t *testing.T) {
	short := strings.TrimSuffix(strings.Repeat("de-CH;q=0.9,", maxAcceptEntries), ",")
	base := testing.AllocsPerRun(20, func() { accept(short) })
	for name, h := range hostileAcceptLanguage() {
		got := testing.AllocsPerRun(5, func() { accept(h) })
		assert.LessOrEqual(t, got, base, "%s: %v allocations, a short header %v", name, got, base)
	}
}

func TestAcceptEntriesCut(t *testing.T) {
	tests := []struct {
		header string
		want   []string
	}{
		{"", []string{""}},
		{"en", []string{"en"}},
		{"en, fr;q=0.5", []string{"en", " fr;q=0.5"}},
		{strings.Repeat("x,", 20), strings.Split(strings.Repeat("x,", 16), ",")[:16]},
		// 256 bytes: read whole.
		{strings.Repeat(" ", 251) + "fr,hi", []string{strings.Repeat(" ", 251) + "fr", "hi"}},
		// 257 bytes: "hi" ends past the bound and is dropped, not read in part.
		{strings.Repeat(" ", 252) + "fr,hi", []string{strings.Repeat(" ", 252) + "fr"}},
		// The 257th byte a comma: the entry before it is whole.
		{strings.Repeat(" ", 252) + "fr,h,i", []string{strings.Repeat(" ", 252) + "fr", "h"}},
		{strings.Repeat("a", 300), nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, acceptEntries(tt.header), "%.40q (%d bytes)", tt.header, len(tt.header))
	}
}
