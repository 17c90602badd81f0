package password

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sha1Hex(pw string) string {
	s := sha1.Sum([]byte(pw))
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

// pwnedServer answers like api.pwnedpasswords.com's range API as documented:
// GET /range/{5 hex chars, any case}, HTTP 200 for every valid prefix with
// "SUFFIX:COUNT" lines (35 upper-case hex characters, decimal count)
// separated by CRLF, padded with random count-0 suffixes up to 800-1,000
// lines when the request has "Add-Padding: true", HTTP 403 without a
// User-Agent and HTTP 400 for a malformed prefix. Every request is recorded.
type pwnedServer struct {
	*httptest.Server
	corpus map[string]int    // full upper-case SHA-1 -> count
	extra  map[string]string // prefix -> raw lines appended to its answer

	mu       sync.Mutex
	requests [][]byte // each request as dumped on the wire
	paths    []string
	headers  []http.Header
}

var prefixRE = regexp.MustCompile(`^[0-9A-Fa-f]{5}$`)

func newPwnedServer(t *testing.T, corpus map[string]int) *pwnedServer {
	t.Helper()
	s := &pwnedServer{corpus: corpus, extra: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *pwnedServer) serve(w http.ResponseWriter, r *http.Request) {
	dump, _ := httputil.DumpRequest(r, true)
	s.mu.Lock()
	s.requests = append(s.requests, dump)
	s.paths = append(s.paths, r.URL.Path)
	s.headers = append(s.headers, r.Header.Clone())
	s.mu.Unlock()

	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("User-Agent") == "" {
		http.Error(w, "missing user agent", http.StatusForbidden)
		return
	}
	prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
	if !ok || !prefixRE.MatchString(prefix) {
		http.Error(w, "The hash prefix was not in a valid format", http.StatusBadRequest)
		return
	}
	prefix = strings.ToUpper(prefix)
	var lines []string
	for h, c := range s.corpus {
		if strings.HasPrefix(h, prefix) {
			lines = append(lines, fmt.Sprintf("%s:%d", h[5:], c))
		}
	}
	if r.Header.Get("Add-Padding") == "true" {
		rng := rand.New(rand.NewPCG(1, 2))
		target := 800 + rng.IntN(201)
		for len(lines) < target {
			var b [18]byte
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			lines = append(lines, strings.ToUpper(hex.EncodeToString(b[:]))[:35]+":0")
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	body := strings.Join(lines, "\r\n") + s.extra[prefix]
	_, _ = w.Write([]byte(body))
}

func (s *pwnedServer) recorded() (paths []string, headers []http.Header, dumps [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...), append([]http.Header(nil), s.headers...), append([][]byte(nil), s.requests...)
}

func TestHIBPBreached(t *testing.T) {
	const (
		pwned    = "P@ssw0rd" // the API documentation's example: 21BD1..., seen 52,579 times
		rare     = "seen-three-times"
		padded   = "only-in-padding"
		lower    = "lower-case-suffix"
		notFound = "correct horse battery staple 4 otpreset"
	)
	require.Equal(t, "21BD12DC183F740EE76F27B78EB39C8AD972A757", sha1Hex(pwned), "SHA-1 of the UTF-8 password")
	srv := newPwnedServer(t, map[string]int{
		sha1Hex(pwned): 52579,
		sha1Hex(rare):  3,
	})
	// A padding line that happens to equal the suffix searched for: count 0
	// means "not in the corpus" and must never match.
	ph := sha1Hex(padded)
	srv.extra[ph[:5]] = "\r\n" + ph[5:] + ":0"
	// Hex is case-insensitive.
	lh := sha1Hex(lower)
	srv.extra[lh[:5]] = "\r\n" + strings.ToLower(lh[5:]) + ":7"

	tests := []struct {
		name     string
		pw       string
		minCount int
		want     bool
	}{
		{name: "found", pw: pwned, want: true},
		{name: "not found", pw: notFound, want: false},
		{name: "padding entry ignored", pw: padded, want: false},
		{name: "padding entry ignored whatever MinCount", pw: padded, minCount: -5, want: false},
		{name: "lower-case suffix found", pw: lower, want: true},
		{name: "below MinCount", pw: rare, minCount: 4, want: false},
		{name: "at MinCount", pw: rare, minCount: 3, want: true},
		{name: "above MinCount", pw: pwned, minCount: 1000, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &HIBP{Endpoint: srv.URL + "/range/", MinCount: tc.minCount}
			got, err := h.Breached(context.Background(), tc.pw)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// Only the 5-character prefix may leave the process: not the password, not
// the suffix, not the full hash.
func TestHIBPSendsOnlyThePrefix(t *testing.T) {
	srv := newPwnedServer(t, nil)
	pws := []string{"StrongP@ssw0rd!", "пароль-пароль", "P@ssw0rd"}
	h := &HIBP{Endpoint: srv.URL + "/range"} // no trailing slash: added
	for _, pw := range pws {
		_, err := h.Breached(context.Background(), pw)
		require.NoError(t, err)
	}
	paths, headers, dumps := srv.recorded()
	require.Len(t, paths, len(pws))
	for i, pw := range pws {
		full := sha1Hex(pw)
		assert.Equal(t, "/range/"+full[:5], paths[i])
		assert.Equal(t, "true", headers[i].Get("Add-Padding"))
		assert.Equal(t, DefaultHIBPUserAgent, headers[i].Get("User-Agent"))
		wire := strings.ToUpper(string(dumps[i]))
		for _, secret := range []string{pw, full, full[5:], full[5:15], full[len(full)-10:]} {
			assert.NotContains(t, wire, strings.ToUpper(secret), "request %d leaks %q", i, secret)
		}
		assert.NotContains(t, string(dumps[i]), pw)
	}
}

func TestHIBPUserAgent(t *testing.T) {
	srv := newPwnedServer(t, nil)
	h := &HIBP{Endpoint: srv.URL + "/range/", UserAgent: "acme-accounts/1.2"}
	_, err := h.Breached(context.Background(), "whatever-password")
	require.NoError(t, err)
	_, headers, _ := srv.recorded()
	require.Len(t, headers, 1)
	assert.Equal(t, "acme-accounts/1.2", headers[0].Get("User-Agent"))
}

// capture returns a logger writing JSON lines to a buffer.
func capture() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, nil)), &buf
}

func TestHIBPFailure(t *testing.T) {
	const pw = "StrongP@ssw0rd!"
	full := sha1Hex(pw)

	status := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "upstream trouble", code) }
	}
	body := func(s string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(s)) }
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		closed  bool // server shut down before the request: network error
	}{
		{name: "500", handler: status(http.StatusInternalServerError)},
		{name: "503", handler: status(http.StatusServiceUnavailable)},
		{name: "429 rate limited", handler: status(http.StatusTooManyRequests)},
		{name: "HTML error page with 200", handler: body("<html><body>Captive portal</body></html>")},
		{name: "bad count", handler: body(full[5:] + ":many\r\n")},
		{name: "short suffix", handler: body("ABCDEF:3\r\n")},
		{name: "oversized answer", handler: body(strings.Repeat("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n", maxRangeBody/37+10))},
		{name: "network error", closed: true},
	}
	for _, tc := range tests {
		for _, failOpen := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/failOpen=%v", tc.name, failOpen), func(t *testing.T) {
				handler := tc.handler
				if handler == nil {
					handler = body("")
				}
				srv := httptest.NewServer(handler)
				t.Cleanup(srv.Close)
				if tc.closed {
					srv.Close()
				}
				logger, logs := capture()
				h := &HIBP{Endpoint: srv.URL + "/range/", FailOpen: failOpen, Logger: logger}
				got, err := h.Breached(context.Background(), pw)
				assert.False(t, got)
				checker := "HIBP range API (" + strings.TrimPrefix(srv.URL, "http://") + ")"
				if failOpen {
					require.NoError(t, err)
					assert.Contains(t, logs.String(), `"level":"WARN"`)
					assert.Contains(t, logs.String(), checker, "the log names the checker")
				} else {
					require.ErrorIs(t, err, ErrUnavailable)
					assert.Contains(t, err.Error(), checker, "the error names the checker")
					assertNoHash(t, err.Error(), pw, full)
					assert.Empty(t, logs.String(), "a fail-closed error is the caller's to log")
				}
				assertNoHash(t, logs.String(), pw, full)
			})
		}
	}
}

// assertNoHash: text holds neither the password nor any part of its SHA-1
// that identifies it (the prefix sent to the API included), in either case.
func assertNoHash(t *testing.T, text, pw, full string) {
	t.Helper()
	assert.NotContains(t, text, pw)
	for _, part := range []string{full[:5], full[5:], full[5:15], full[len(full)-10:]} {
		assert.NotContains(t, strings.ToUpper(text), part)
	}
}

// TestHIBPErrorHidesPrefix: a client whose transport names the URL in its
// error (a proxy, a tracing wrapper) does not put the range into the
// checker's error, whose chain still matches.
func TestHIBPErrorHidesPrefix(t *testing.T) {
	const pw = "StrongP@ssw0rd!"
	errProxy := errors.New("proxy refused")
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("%w: GET %s (path %s)", errProxy, r.URL, strings.ToLower(r.URL.Path))
	})}
	for _, failOpen := range []bool{false, true} {
		logger, logs := capture()
		h := &HIBP{Client: client, FailOpen: failOpen, Logger: logger}
		_, err := h.Breached(context.Background(), pw)
		if !failOpen {
			require.ErrorIs(t, err, errProxy)
			require.ErrorIs(t, err, ErrUnavailable)
			assert.Contains(t, err.Error(), "HIBP range API (api.pwnedpasswords.com): Get: proxy refused: GET https://api.pwnedpasswords.com/range/[range]")
			assertNoHash(t, err.Error(), pw, sha1Hex(pw))
		} else {
			require.NoError(t, err)
			assert.Contains(t, logs.String(), "proxy refused")
		}
		assertNoHash(t, logs.String(), pw, sha1Hex(pw))
	}
}

// slowServer blocks every request until the client goes away or the test
// ends; arrived receives one value per request that reached the handler.
func slowServer(t *testing.T) (srv *httptest.Server, arrived chan struct{}) {
	t.Helper()
	arrived = make(chan struct{}, 10)
	release := make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv, arrived
}

func TestHIBPTimeout(t *testing.T) {
	tests := []struct {
		name string
		hibp func(url string) *HIBP
	}{
		{name: "HIBP.Timeout", hibp: func(url string) *HIBP {
			return &HIBP{Endpoint: url, Timeout: 50 * time.Millisecond}
		}},
		{name: "http.Client.Timeout", hibp: func(url string) *HIBP {
			return &HIBP{Endpoint: url, Client: &http.Client{Timeout: 50 * time.Millisecond}}
		}},
	}
	for _, tc := range tests {
		for _, failOpen := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/failOpen=%v", tc.name, failOpen), func(t *testing.T) {
				srv, arrived := slowServer(t)
				logger, logs := capture()
				h := tc.hibp(srv.URL + "/range/")
				h.FailOpen, h.Logger = failOpen, logger
				start := time.Now()
				got, err := h.Breached(context.Background(), "StrongP@ssw0rd!")
				elapsed := time.Since(start)
				assert.False(t, got)
				assert.Len(t, arrived, 1, "the request reached the server")
				assert.Less(t, elapsed, 2*time.Second, "gave up at the timeout, not the default")
				if failOpen {
					require.NoError(t, err)
					assert.Contains(t, logs.String(), "fail open")
				} else {
					require.ErrorIs(t, err, ErrUnavailable)
				}
			})
		}
	}
}

func TestHIBPContextCancel(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		t.Run(fmt.Sprintf("failOpen=%v", failOpen), func(t *testing.T) {
			srv, arrived := slowServer(t)
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				<-arrived // the request is in flight: now the caller gives up
				cancel()
			}()
			logger, logs := capture()
			h := &HIBP{Endpoint: srv.URL + "/range/", FailOpen: failOpen, Logger: logger, Timeout: time.Minute}
			got, err := h.Breached(ctx, "StrongP@ssw0rd!")
			assert.False(t, got)
			require.ErrorIs(t, err, context.Canceled, "a cancelled caller is never failed open")
			assert.ErrorIs(t, err, ErrUnavailable)
			assert.Empty(t, logs.String())
		})
	}
}

func TestHIBPAlreadyCancelled(t *testing.T) {
	srv := newPwnedServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h := &HIBP{Endpoint: srv.URL + "/range/", FailOpen: true}
	_, err := h.Breached(ctx, "StrongP@ssw0rd!")
	require.ErrorIs(t, err, context.Canceled)
	paths, _, _ := srv.recorded()
	assert.Empty(t, paths, "no request is sent for a dead context")
}

// roundTripFunc lets a test see the request as the client sends it.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHIBPRequestDeadline(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		want    time.Duration
	}{
		{name: "default", want: DefaultHIBPTimeout},
		{name: "negative means default", timeout: -time.Second, want: DefaultHIBPTimeout},
		{name: "custom", timeout: 700 * time.Millisecond, want: 700 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var deadline time.Time
			var hasDeadline bool
			client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				deadline, hasDeadline = r.Context().Deadline()
				assert.Equal(t, "api.pwnedpasswords.com", r.URL.Host, "the default endpoint")
				assert.Equal(t, "https", r.URL.Scheme)
				return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{}}, nil
			})}
			start := time.Now()
			got, err := (&HIBP{Client: client, Timeout: tc.timeout}).Breached(context.Background(), "StrongP@ssw0rd!")
			require.NoError(t, err)
			assert.False(t, got)
			require.True(t, hasDeadline)
			assert.WithinDuration(t, start.Add(tc.want), deadline, 200*time.Millisecond)
		})
	}
}
