package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/webhook"
	"github.com/otpreset/go/webhook/signature"
)

var testSecrets = signature.Secrets{
	LoginRadius: "tenant-webhook-secret",
	Standard:    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}

const eventBody = `{"HookName":"resetpassword","Time":"2026-05-01T12:00:00Z","HookId":"3f2b8c1e-6a47-4d0b-9a51-2f1e0c7d9b10","Data":{"Uid":"u-1","PhoneId":"+919999999999"}}`

// syncBuffer is a bytes.Buffer safe for a server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func signed(t *testing.T, body string, id string, at time.Time) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	require.NoError(t, signature.Sign(r.Header, testSecrets, id, at, []byte(body)))
	return r
}

func TestReceiver(t *testing.T) {
	sent := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const id = "3f2b8c1e-6a47-4d0b-9a51-2f1e0c7d9b10"
	tests := []struct {
		name    string
		req     func() *http.Request
		status  int
		printed string // "" means nothing printed
	}{
		{"genuine", func() *http.Request { return signed(t, eventBody, id, sent) }, http.StatusNoContent,
			"resetpassword " + id + " at 2026-05-01T12:00:00Z: user u-1, phone +91******9999\n"},
		{"tampered body", func() *http.Request {
			tampered := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Replace(eventBody, "u-1", "u-2", 1)))
			tampered.Header = signed(t, eventBody, id, sent).Header
			return tampered
		}, http.StatusUnauthorized, ""},
		{"unsigned", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/", strings.NewReader(eventBody))
		}, http.StatusUnauthorized, ""},
		{"replayed after the tolerance", func() *http.Request { return signed(t, eventBody, id, sent.Add(-time.Hour)) },
			http.StatusUnauthorized, ""},
		{"signed but not an event", func() *http.Request { return signed(t, `[1,2]`, id, sent) }, http.StatusBadRequest, ""},
		{"too large", func() *http.Request {
			return signed(t, `{"x":"`+strings.Repeat("a", maxBody)+`"}`, id, sent)
		}, http.StatusRequestEntityTooLarge, ""},
		{"GET", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) }, http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			rc := newReceiver(signature.Verifier{Secrets: testSecrets, Clock: stoppedAt(sent.Add(time.Second))},
				&out, slog.New(slog.DiscardHandler))
			w := httptest.NewRecorder()
			rc.ServeHTTP(w, tt.req())
			assert.Equal(t, tt.status, w.Code, w.Body.String())
			assert.Equal(t, tt.printed, out.String())
			if tt.status == http.StatusMethodNotAllowed {
				assert.Equal(t, http.MethodPost, w.Header().Get("Allow"))
			}
		})
	}
}

func TestReceiverIgnoresRepeats(t *testing.T) {
	sent := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const hookID = "3f2b8c1e-6a47-4d0b-9a51-2f1e0c7d9b10"
	var out syncBuffer
	rc := newReceiver(signature.Verifier{Secrets: testSecrets, Clock: stoppedAt(sent)}, &out, slog.New(slog.DiscardHandler))
	for i, want := range []int{http.StatusNoContent, http.StatusOK, http.StatusOK} {
		w := httptest.NewRecorder()
		// A retry is signed again with a later timestamp, same id.
		rc.ServeHTTP(w, signed(t, eventBody, hookID, sent.Add(time.Duration(i)*time.Second)))
		assert.Equal(t, want, w.Code)
	}
	assert.Equal(t, 1, strings.Count(out.String(), "resetpassword "+hookID))
	assert.Equal(t, 2, strings.Count(out.String(), "duplicate "+hookID+" ignored"))
}

// eventAt is a ResetPassword payload with the given HookId and Time.
func eventAt(hookID string, at time.Time) string {
	return `{"HookName":"resetpassword","Time":"` + at.UTC().Format(time.RFC3339) + `","HookId":"` + hookID + `","Data":{"Uid":"u-1","PhoneId":"+919999999999"}}`
}

// post delivers body signed with s (webhook-id id, when s.Standard is set)
// at time at, adding extra headers, and returns the status.
func post(t *testing.T, rc *receiver, s signature.Secrets, body, id string, at time.Time, extra http.Header) int {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	require.NoError(t, signature.Sign(r.Header, s, id, at, []byte(body)))
	for k, v := range extra {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, r)
	return w.Code
}

// With only LoginRadius's signature, webhook-id is not signed: a captured
// delivery replayed under a new id is still the same event (same signed
// HookId) and is not acted on again.
func TestReceiverReplayWithNewUnsignedID(t *testing.T) {
	lrOnly := signature.Secrets{LoginRadius: testSecrets.LoginRadius}
	sent := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var out syncBuffer
	rc := newReceiver(signature.Verifier{Secrets: lrOnly, Clock: stoppedAt(sent.Add(time.Minute))}, &out, slog.New(slog.DiscardHandler))
	body := eventAt("hook-1", sent)
	assert.Equal(t, http.StatusNoContent, post(t, rc, lrOnly, body, "", sent, http.Header{"Webhook-Id": {"msg-a"}}))
	for _, replayID := range []string{"msg-b", "msg-c", ""} {
		assert.Equal(t, http.StatusOK, post(t, rc, lrOnly, body, "", sent, http.Header{"Webhook-Id": {replayID}}), "replay as %q", replayID)
	}
	assert.Equal(t, 1, strings.Count(out.String(), "resetpassword hook-1"), out.String())
	assert.Equal(t, 3, strings.Count(out.String(), "duplicate hook-1 ignored"))

	// With both schemes, a re-signed delivery under a new webhook-id (what a
	// sender holding the secret could do) is still recognised by HookId.
	out = syncBuffer{}
	rc = newReceiver(signature.Verifier{Secrets: testSecrets, Clock: stoppedAt(sent.Add(time.Minute))}, &out, slog.New(slog.DiscardHandler))
	assert.Equal(t, http.StatusNoContent, post(t, rc, testSecrets, body, "msg-a", sent, nil))
	assert.Equal(t, http.StatusOK, post(t, rc, testSecrets, body, "msg-b", sent.Add(time.Minute), nil))
	assert.Equal(t, 1, strings.Count(out.String(), "resetpassword hook-1"), out.String())
}

// An authentic event whose payload Time is out of range is refused: with only
// LoginRadius's signature there is no signed timestamp but this one.
func TestReceiverRefusesStaleEventTime(t *testing.T) {
	lrOnly := signature.Secrets{LoginRadius: testSecrets.LoginRadius}
	now := time.Date(2026, 5, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		maxAge time.Duration
		at     time.Time
		status int
	}{
		{"fresh", 0, now.Add(-time.Minute), http.StatusNoContent},
		{"at the default max age", 0, now.Add(-defaultMaxAge), http.StatusNoContent},
		{"older than the default max age", 0, now.Add(-defaultMaxAge - time.Second), http.StatusBadRequest},
		{"a week old", 0, now.Add(-7 * 24 * time.Hour), http.StatusBadRequest},
		{"slightly in the future", 0, now.Add(maxSkew), http.StatusNoContent},
		{"far in the future", 0, now.Add(maxSkew + time.Second), http.StatusBadRequest},
		{"older than a configured max age", time.Hour, now.Add(-time.Hour - time.Second), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			rc := newReceiver(signature.Verifier{Secrets: lrOnly, Clock: stoppedAt(now)}, &out, slog.New(slog.DiscardHandler)).withMaxAge(tt.maxAge)
			assert.Equal(t, tt.status, post(t, rc, lrOnly, eventAt("hook-1", tt.at), "", now, nil))
			if tt.status != http.StatusNoContent {
				assert.Empty(t, out.String(), "a refused event is not acted on")
			}
		})
	}

	t.Run("unreadable Time", func(t *testing.T) {
		rc := newReceiver(signature.Verifier{Secrets: lrOnly, Clock: stoppedAt(now)}, io.Discard, slog.New(slog.DiscardHandler))
		body := strings.Replace(eventAt("hook-1", now), now.Format(time.RFC3339), "yesterday", 1)
		assert.Equal(t, http.StatusBadRequest, post(t, rc, lrOnly, body, "", now, nil))
	})
}

// The ids remembered are bounded by the events of one max-age window: once
// the clock passes an event's Time + max-age it is forgotten, and a replay of
// it is refused by its age instead.
func TestReceiverForgetsExpiredIDs(t *testing.T) {
	lrOnly := signature.Secrets{LoginRadius: testSecrets.LoginRadius}
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	rc := newReceiver(signature.Verifier{Secrets: lrOnly, Clock: clockFunc(func() time.Time { return now })}, io.Discard, slog.New(slog.DiscardHandler))
	for i := range minSweep {
		require.Equal(t, http.StatusNoContent, post(t, rc, lrOnly, eventAt(fmt.Sprint("old-", i), t0), "", now, nil))
	}
	assert.Len(t, rc.seen, minSweep)

	now = t0.Add(defaultMaxAge + time.Second)
	assert.Equal(t, http.StatusNoContent, post(t, rc, lrOnly, eventAt("new", now), "", now, nil))
	assert.Len(t, rc.seen, 1, "expired ids were swept")
	assert.Equal(t, http.StatusBadRequest, post(t, rc, lrOnly, eventAt("old-0", t0), "", now, nil), "a forgotten event is refused by age")
}

// End to end: otpreset's HTTPSink delivers to this receiver.
func TestReceiverWithHTTPSink(t *testing.T) {
	var out syncBuffer
	srv := httptest.NewServer(newReceiver(signature.Verifier{Secrets: testSecrets}, &out, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	sink, err := webhook.NewHTTPSink(webhook.HTTPSinkConfig{
		Endpoints: webhook.StaticEndpoints{"t1": {{URL: srv.URL, Secrets: testSecrets}}},
		Logger:    slog.New(slog.DiscardHandler),
		// The receiver is on 127.0.0.1.
		AllowPrivateDestinations: true,
	})
	require.NoError(t, err)
	require.NoError(t, sink.Emit(context.Background(), webhook.Event{
		ID: "evt-9", TenantID: "t1", Name: webhook.HookResetPassword, Time: time.Now(),
		Data: json.RawMessage(`{"Uid":"u-9","PhoneId":"+14155550123"}`),
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, sink.Close(ctx))
	assert.Equal(t, uint64(1), sink.Stats().Delivered)
	assert.Contains(t, out.String(), "resetpassword evt-9 at ")
	assert.Contains(t, out.String(), "user u-9, phone +14******0123")
	assert.NotContains(t, out.String(), "4155550123")
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{
		"+919999999999": "+91******9999",
		"+14155550123":  "+14******0123",
		"":              "****",
		"12345":         "****",
	} {
		assert.Equal(t, want, maskPhone(in), in)
	}
}

// The receiver's handler on a signed delivery and on a forged one.
func Example() {
	// The clock of this example: 30 seconds after the event's Time.
	now := time.Date(2026, 5, 1, 12, 0, 30, 0, time.UTC)
	h := newReceiver(signature.Verifier{Secrets: testSecrets, Clock: stoppedAt(now)}, os.Stdout, slog.New(slog.DiscardHandler))

	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(eventBody))
	_ = signature.Sign(r.Header, testSecrets, "3f2b8c1e-6a47-4d0b-9a51-2f1e0c7d9b10", now, []byte(eventBody))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code)

	forged := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(eventBody))
	forged.Header.Set("signature", strings.Repeat("AB", 32))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, forged)
	fmt.Println(w.Code)
	// Output:
	// resetpassword 3f2b8c1e-6a47-4d0b-9a51-2f1e0c7d9b10 at 2026-05-01T12:00:00Z: user u-1, phone +91******9999
	// 204
	// 401
}

// stoppedAt is a clock that tells one instant.
type stoppedAt time.Time

func (c stoppedAt) Now() time.Time { return time.Time(c) }

// clockFunc is a clock that tells what its function returns.
type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }
