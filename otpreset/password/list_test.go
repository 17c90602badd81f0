package password

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadList(t *testing.T) {
	tests := []struct {
		name    string
		opts    ListOptions
		input   string
		len     int
		in, out []string // passwords that must / must not be found
	}{
		{
			name: "bare hashes, mixed case, CRLF, blank lines, BOM",
			input: "\uFEFF" + sha1Hex("password") + "\r\n" +
				strings.ToLower(sha1Hex("123456")) + "\r\n\r\n" +
				"  " + sha1Hex("qwerty") + "  \n",
			len: 3,
			in:  []string{"password", "123456", "qwerty"},
			out: []string{"Password", "1234567", "StrongP@ssw0rd!"},
		},
		{
			name: "HIBP download format",
			input: sha1Hex("password") + ":10434004\r\n" +
				sha1Hex("iloveyou") + ":1\r\n" +
				sha1Hex("padding") + ":0\r\n",
			len: 2,
			in:  []string{"password", "iloveyou"},
			out: []string{"padding"},
		},
		{
			name: "HIBP download format with MinCount",
			opts: ListOptions{MinCount: 100},
			input: sha1Hex("password") + ":10434004\r\n" +
				sha1Hex("iloveyou") + ":99\r\n" +
				sha1Hex("nocount") + "\r\n",
			len: 2,
			in:  []string{"password", "nocount"},
			out: []string{"iloveyou"},
		},
		{
			name:  "plain words",
			opts:  ListOptions{Format: FormatPlain},
			input: "password\nletmein\r\npass word\n\nﬁnal\nＡＢＣ\n",
			len:   5,
			in:    []string{"password", "letmein", "pass word", "final", "ABC"},
			out:   []string{"passwor", "Letmein", "password ", "finals", "abc"},
		},
		{
			name:  "auto mixes hashes and words",
			input: sha1Hex("secret-one") + ":5\nsunshine\n" + sha1Hex("secret-two") + "\n" + "not:a:hash\n",
			len:   4,
			in:    []string{"secret-one", "sunshine", "secret-two", "not:a:hash"},
			out:   []string{sha1Hex("secret-one"), "sunshine1"},
		},
		{
			name:  "plain format takes a hash-looking line as a password",
			opts:  ListOptions{Format: FormatPlain},
			input: sha1Hex("secret-one") + "\n",
			len:   1,
			in:    []string{sha1Hex("secret-one")},
			out:   []string{"secret-one"},
		},
		{
			name:  "duplicates counted once",
			input: "dragon\ndragon\n" + sha1Hex("dragon") + "\n" + strings.ToLower(sha1Hex("dragon")) + ":3\n",
			len:   1,
			in:    []string{"dragon"},
		},
		{
			name: "empty",
			len:  0,
			out:  []string{"", "password"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ReadList(strings.NewReader(tc.input), tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.len, l.Len())
			for _, pw := range tc.in {
				got, err := l.Breached(context.Background(), pw)
				require.NoError(t, err)
				assert.True(t, got, "%q must be found", pw)
			}
			for _, pw := range tc.out {
				got, err := l.Breached(context.Background(), pw)
				require.NoError(t, err)
				assert.False(t, got, "%q must not be found", pw)
			}
		})
	}
}

func TestReadListErrors(t *testing.T) {
	tests := []struct {
		name  string
		opts  ListOptions
		input string
		line  string // expected in the message
	}{
		{name: "plain line in sha1 format", opts: ListOptions{Format: FormatSHA1},
			input: sha1Hex("a") + "\npassword\n", line: "line 2"},
		{name: "short hash in sha1 format", opts: ListOptions{Format: FormatSHA1},
			input: sha1Hex("a")[:39] + "\n", line: "line 1"},
		{name: "bad count in sha1 format", opts: ListOptions{Format: FormatSHA1},
			input: "\n\n" + sha1Hex("a") + ":x\n", line: "line 3"},
		{name: "line too long", input: strings.Repeat("a", maxListLine+1), line: "longer than"},
		{name: "unknown format", opts: ListOptions{Format: ListFormat(7)}, line: "ListFormat(7)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ReadList(strings.NewReader(tc.input), tc.opts)
			require.ErrorIs(t, err, ErrMalformedList)
			assert.Nil(t, l)
			assert.Contains(t, err.Error(), tc.line)
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadListReadError(t *testing.T) {
	_, err := ReadList(failingReader{}, ListOptions{})
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrMalformedList)
	assert.Contains(t, err.Error(), "disk on fire")
}

func TestLoadList(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pwned.txt")
	require.NoError(t, os.WriteFile(path, []byte(sha1Hex("hunter2")+":17\r\nmonkey\r\n"), 0o600))

	l, err := LoadList(path, ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, l.Len())
	for pw, want := range map[string]bool{"hunter2": true, "monkey": true, "hunter3": false} {
		got, err := l.Breached(context.Background(), pw)
		require.NoError(t, err)
		assert.Equal(t, want, got, pw)
	}

	_, err = LoadList(filepath.Join(dir, "missing.txt"), ListOptions{})
	require.ErrorIs(t, err, fs.ErrNotExist)

	_, err = LoadList(dir, ListOptions{}) // a directory opens but cannot be read
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrMalformedList)

	bad := filepath.Join(dir, "bad.txt")
	require.NoError(t, os.WriteFile(bad, []byte("monkey\n"), 0o600))
	_, err = LoadList(bad, ListOptions{Format: FormatSHA1})
	require.ErrorIs(t, err, ErrMalformedList)
	assert.Contains(t, err.Error(), bad, "the error names the file")
}

func TestNilList(t *testing.T) {
	var l *List
	assert.Equal(t, 0, l.Len())
	got, err := l.Breached(context.Background(), "password")
	require.NoError(t, err)
	assert.False(t, got)
}

func TestListFormatString(t *testing.T) {
	assert.Equal(t, "auto", FormatAuto.String())
	assert.Equal(t, "sha1", FormatSHA1.String())
	assert.Equal(t, "plain", FormatPlain.String())
}

// counting wraps a checker and counts its calls.
func counting(c BreachChecker, n *atomic.Int32) BreachChecker {
	return BreachCheckerFunc(func(ctx context.Context, pw string) (bool, error) {
		n.Add(1)
		return c.Breached(ctx, pw)
	})
}

func TestAny(t *testing.T) {
	local, err := ReadList(strings.NewReader("acme-corp\n"), ListOptions{Format: FormatPlain})
	require.NoError(t, err)
	yes := BreachCheckerFunc(func(context.Context, string) (bool, error) { return true, nil })
	no := BreachCheckerFunc(func(context.Context, string) (bool, error) { return false, nil })
	down := BreachCheckerFunc(func(context.Context, string) (bool, error) {
		return false, fmt.Errorf("%w: test", ErrUnavailable)
	})

	var calls atomic.Int32
	got, err := Any(local, counting(yes, &calls)).Breached(context.Background(), "acme-corp")
	require.NoError(t, err)
	assert.True(t, got)
	assert.Zero(t, calls.Load(), "a local hit skips the remote checker")

	got, err = Any(local, counting(yes, &calls)).Breached(context.Background(), "other")
	require.NoError(t, err)
	assert.True(t, got)
	assert.EqualValues(t, 1, calls.Load())

	got, err = Any(down, yes).Breached(context.Background(), "x")
	require.NoError(t, err, "a breach found elsewhere wins over a failure")
	assert.True(t, got)

	got, err = Any(nil, local, down, no).Breached(context.Background(), "x")
	require.ErrorIs(t, err, ErrUnavailable)
	assert.False(t, got)

	got, err = Any(local, no).Breached(context.Background(), "x")
	require.NoError(t, err)
	assert.False(t, got)

	got, err = Any().Breached(context.Background(), "x")
	require.NoError(t, err)
	assert.False(t, got)
}
