package password

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // SHA-1 is the breach corpora's lookup key.
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
)

// ErrMalformedList: a list line is not in the format the options require.
var ErrMalformedList = errors.New("password: malformed list")

// ListFormat says how the lines of a list file are read.
type ListFormat int

const (
	// FormatAuto decides per line: a line of exactly 40 hexadecimal
	// characters (any case), optionally followed by ":COUNT" as in the
	// downloadable Pwned Passwords files, is a SHA-1 hash; any other line is
	// a plain password. A plain password that happens to be 40 hex digits is
	// therefore read as a hash; use FormatPlain for word lists that may hold
	// such lines.
	FormatAuto ListFormat = iota
	// FormatSHA1 requires every line to be a hash ("HASH" or "HASH:COUNT");
	// any other line is an error wrapping ErrMalformedList.
	FormatSHA1
	// FormatPlain reads every line as a plain password.
	FormatPlain
)

// String names the format.
func (f ListFormat) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatSHA1:
		return "sha1"
	case FormatPlain:
		return "plain"
	}
	return "ListFormat(" + strconv.Itoa(int(f)) + ")"
}

// ListOptions configures ReadList and LoadList. The zero value reads lines
// in FormatAuto and keeps every hash whatever its count.
type ListOptions struct {
	// Format says how lines are read; default FormatAuto.
	Format ListFormat
	// MinCount drops "HASH:COUNT" lines whose COUNT is below it (a way to
	// keep only the most common breached passwords of a big file). Zero or
	// negative means 1, so a count of 0 (padding) is always dropped. Lines
	// without a count are always kept.
	MinCount int
}

// maxListLine bounds a line's length; longer lines are an error.
const maxListLine = 64 << 10

// List is an offline BreachChecker over a fixed set of passwords, held as a
// sorted slice of SHA-1 digests: 20 bytes per distinct entry, whatever the
// passwords' lengths. It is built once by ReadList or LoadList and is then
// read-only and safe for concurrent use.
//
// Plain passwords are NFKC-normalised (Normalize) before hashing, as Check
// normalises the password it is given; hash lines are taken as they are, so
// they should be SHA-1 of the UTF-8 password (for non-ASCII passwords, of its
// NFKC form) to match.
type List struct {
	sums [][sha1.Size]byte
}

// ReadList reads a list from r, one entry per line. Lines end with LF or
// CRLF; empty lines and a leading UTF-8 byte order mark are ignored; hash
// lines may carry spaces around them. Plain passwords are taken exactly as
// written (apart from the line ending): spaces are part of them.
func ReadList(r io.Reader, opts ListOptions) (*List, error) {
	if opts.Format < FormatAuto || opts.Format > FormatPlain {
		return nil, fmt.Errorf("%w: unknown format %v", ErrMalformedList, opts.Format)
	}
	minCount := uint64(1)
	if opts.MinCount > 0 {
		minCount = uint64(opts.MinCount)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxListLine)
	var sums [][sha1.Size]byte
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\uFEFF"))
		}
		if len(text) == 0 {
			continue
		}
		if opts.Format != FormatPlain {
			sum, count, hasCount, ok := parseHashLine(text)
			if ok {
				if !hasCount || count >= minCount {
					sums = append(sums, sum)
				}
				continue
			}
			if opts.Format == FormatSHA1 {
				return nil, fmt.Errorf("%w: line %d: want 40 hex digits, optionally \":COUNT\"", ErrMalformedList, line)
			}
		}
		sums = append(sums, digest(Normalize(string(text))))
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrMalformedList, maxListLine)
		}
		return nil, fmt.Errorf("password: reading list: %w", err)
	}
	slices.SortFunc(sums, func(a, b [sha1.Size]byte) int { return bytes.Compare(a[:], b[:]) })
	sums = slices.Compact(sums)
	if cap(sums)-len(sums) > len(sums)/16 {
		sums = slices.Clone(sums) // give back append's (and Compact's) slack
	}
	return &List{sums: sums}, nil
}

// LoadList reads the list in the file at path (see ReadList). A file that
// cannot be opened or read is an error that wraps the os error (for
// example fs.ErrNotExist).
func LoadList(path string, opts ListOptions) (*List, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("password: opening list: %w", err)
	}
	defer f.Close()
	l, err := ReadList(f, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// parseHashLine parses "HASH" or "HASH:COUNT" (HASH 40 hex digits in any
// case, spaces around the line allowed).
func parseHashLine(text []byte) (sum [sha1.Size]byte, count uint64, hasCount, ok bool) {
	text = bytes.TrimSpace(text)
	hashPart, countPart, hasCount := bytes.Cut(text, []byte(":"))
	if len(hashPart) != 2*sha1.Size || !isHex(hashPart) {
		return sum, 0, false, false
	}
	if hasCount {
		c, err := strconv.ParseUint(string(countPart), 10, 63)
		if err != nil {
			return sum, 0, false, false
		}
		count = c
	}
	if _, err := hex.Decode(sum[:], hashPart); err != nil {
		return sum, 0, false, false
	}
	return sum, count, hasCount, true
}

// Len returns the number of distinct entries.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.sums)
}

// Breached reports whether pw's SHA-1 is in the list. It never fails; ctx is
// not consulted (the lookup is a binary search in memory). A nil List holds
// nothing.
func (l *List) Breached(_ context.Context, pw string) (bool, error) {
	if l == nil || len(l.sums) == 0 {
		return false, nil
	}
	sum := digest(pw)
	_, found := slices.BinarySearchFunc(l.sums, sum, func(e, t [sha1.Size]byte) int {
		return bytes.Compare(e[:], t[:])
	})
	return found, nil
}
