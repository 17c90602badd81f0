// Package providertest holds what the captcha provider tests share: a fake
// provider (an httptest server that records every request and answers as
// told), answers that hang until released, and a log sink to search for
// leaked secrets.
package providertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/captcha"
)

// Request is what the fake provider received.
type Request struct {
	Method string
	Host   string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	// Form is Body parsed as application/x-www-form-urlencoded (nil if it
	// does not parse).
	Form url.Values
}

// Server is a fake provider.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Request
	answer   http.HandlerFunc
}

// NewServer starts a fake provider answering with answer; it is closed when
// the test ends.
func NewServer(t testing.TB, answer http.HandlerFunc) *Server {
	t.Helper()
	s := &Server{answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	if f, err := url.ParseQuery(string(body)); err == nil {
		rec.Form = f
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	answer := s.answer
	s.mu.Unlock()
	answer(w, r)
}

// Requests returns a copy of what the server has received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// SetAnswer replaces the handler for the following requests.
func (s *Server) SetAnswer(answer http.HandlerFunc) {
	s.mu.Lock()
	s.answer = answer
	s.mu.Unlock()
}

// JSON answers with status and body as application/json.
func JSON(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// Hang never answers until the request's context ends or release is closed;
// it lets a test exercise timeouts and cancellation without sleeping.
func Hang(release <-chan struct{}) http.HandlerFunc {
	return func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}

// Sequence answers the n-th request with answers[n] (the last one repeats).
func Sequence(answers ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := answers[min(n, len(answers)-1)]
		n++
		mu.Unlock()
		a(w, r)
	}
}

// Logs is a concurrency-safe log sink.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// NewLogger returns a debug-level text logger writing into a Logs.
func NewLogger() (*slog.Logger, *Logs) {
	l := &Logs{}
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})), l
}

// Outcome is the class of result a test expects from Verify.
type Outcome int

// The outcomes of Verify.
const (
	OK            Outcome = iota // nil
	Missing                      // captcha.ErrMissing
	Rejected                     // captcha.ErrRejected
	Unavailable                  // captcha.ErrUnavailable, not misconfigured
	Misconfigured                // captcha.ErrUnavailable and captcha.ErrMisconfigured
)

func (o Outcome) String() string {
	return [...]string{"ok", "missing", "rejected", "unavailable", "misconfigured"}[o]
}

// Expect asserts that err is of outcome want and, unless codes is nil, that
// it is a *captcha.Error carrying exactly codes.
func Expect(t testing.TB, err error, want Outcome, codes []string) {
	t.Helper()
	if want == OK {
		require.NoError(t, err)
		return
	}
	require.Error(t, err)
	is := func(target error) bool { return errors.Is(err, target) }
	switch want {
	case Missing:
		assert.True(t, is(captcha.ErrMissing), "want ErrMissing, got %v", err)
		assert.False(t, is(captcha.ErrRejected) || is(captcha.ErrUnavailable), "missing must be only missing: %v", err)
	case Rejected:
		assert.True(t, is(captcha.ErrRejected), "want ErrRejected, got %v", err)
		assert.False(t, is(captcha.ErrUnavailable), "rejection must not be unavailable: %v", err)
	case Unavailable:
		assert.True(t, is(captcha.ErrUnavailable), "want ErrUnavailable, got %v", err)
		assert.False(t, is(captcha.ErrRejected), "unavailable must not be rejected: %v", err)
		assert.False(t, is(captcha.ErrMisconfigured), "want plain unavailable, got misconfigured: %v", err)
	case Misconfigured:
		assert.True(t, is(captcha.ErrUnavailable), "misconfiguration must fail closed as unavailable: %v", err)
		assert.True(t, is(captcha.ErrMisconfigured), "want ErrMisconfigured, got %v", err)
	}
	if codes != nil {
		var ce *captcha.Error
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, codes, ce.Codes)
	}
}

// NoLeak asserts that none of secrets appears, in any case, in err's text
// or in logs.
func NoLeak(t testing.TB, err error, logs *Logs, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		s = strings.ToLower(s)
		if err != nil {
			assert.NotContains(t, strings.ToLower(err.Error()), s, "error text leaks a secret or token")
			assert.NotContains(t, strings.ToLower(fmt.Sprintf("%+v", err)), s, "error text leaks a secret or token")
		}
		if logs != nil {
			assert.NotContains(t, strings.ToLower(logs.String()), s, "log leaks a secret or token")
		}
	}
}

// FixedClock is a clock (a Now method) stopped at one instant.
type FixedClock time.Time

// Now returns the instant.
func (c FixedClock) Now() time.Time { return time.Time(c) }
