package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Secrets used throughout the tests. The Standard one is 32 random-looking
// bytes in whsec_ form.
var (
	testLRSecret  = "lr-secret-of-tenant-1"
	testStdSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	testSecrets   = Secrets{LoginRadius: testLRSecret, Standard: testStdSecret}
	epoch         = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
)

// Independent implementations of both schemes, written from the specs
// (LoginRadius: upper-case hex HMAC-SHA256 of the body; Standard Webhooks:
// "v1," + base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the
// base64-decoded part of whsec_...). They share no code with sign.go.
func specLoginRadius(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

func specStandard(t testing.TB, secret, id string, unix int64, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(unix, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// fakeClock is a Clock for tests. In auto mode every After fires at once and
// moves the time forward by its duration, so hours of backoff take no real
// time. In manual mode After fires only when Advance reaches it. Every After
// is recorded in waits and announced on registered.
type fakeClock struct {
	mu         sync.Mutex
	now        time.Time
	auto       bool
	waits      []time.Duration
	timers     []fakeTimer
	registered chan time.Duration
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newAutoClock() *fakeClock {
	return &fakeClock{now: epoch, auto: true, registered: make(chan time.Duration, 1000)}
}

func newManualClock() *fakeClock {
	return &fakeClock{now: epoch, registered: make(chan time.Duration, 1000)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	ch := make(chan time.Time, 1)
	if c.auto {
		c.now = c.now.Add(d)
		ch <- c.now
	} else {
		c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), ch: ch})
	}
	select {
	case c.registered <- d:
	default:
	}
	return ch
}

// Advance moves a manual clock forward and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if !tm.at.After(c.now) {
			tm.ch <- c.now
		} else {
			kept = append(kept, tm)
		}
	}
	c.timers = kept
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// awaitRegistered blocks until the clock has been asked to wait (a retry is
// scheduled), or fails the test after a generous real-time bound.
func (c *fakeClock) awaitRegistered(t testing.TB) time.Duration {
	t.Helper()
	select {
	case d := <-c.registered:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no wait was scheduled")
		return 0
	}
}

// receipt is one request a test receiver got.
type receipt struct {
	Header http.Header
	Body   []byte
	Status int
}

// receiver is an httptest server that answers with answer(n, r) for its
// n-th request (1-based) and records every request.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []receipt
	answer func(n int, r *http.Request) (status int, header http.Header)
	// arrived receives every request as it arrives, before it is answered.
	arrived chan receipt
}

func newReceiver(t testing.TB, answer func(n int, r *http.Request) (int, http.Header)) *receiver {
	rc := &receiver{answer: answer, arrived: make(chan receipt, 1000)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.got) + 1
		rc.got = append(rc.got, receipt{}) // reserve the slot: n is unique
		rc.mu.Unlock()
		rc.arrived <- receipt{Header: r.Header.Clone(), Body: body}
		status, hdr := http.StatusOK, http.Header(nil)
		if rc.answer != nil {
			status, hdr = rc.answer(n, r)
		}
		rec := receipt{Header: r.Header.Clone(), Body: body, Status: status}
		rc.mu.Lock()
		rc.got[n-1] = rec
		rc.mu.Unlock()
		for k, vs := range hdr {
			w.Header()[k] = vs
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) URL() string { return rc.srv.URL + "/hooks" }

func (rc *receiver) receipts() []receipt {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receipt(nil), rc.got...)
}

// ok counts 2xx receipts.
func (rc *receiver) ok() int {
	n := 0
	for _, r := range rc.receipts() {
		if r.Status >= 200 && r.Status <= 299 {
			n++
		}
	}
	return n
}

// deadLetters collects OnDeadLetter calls.
type deadLetters struct {
	mu  sync.Mutex
	got []DeadLetter
	ch  chan DeadLetter
}

func newDeadLetters() *deadLetters { return &deadLetters{ch: make(chan DeadLetter, 1000)} }

func (d *deadLetters) add(dl DeadLetter) {
	d.mu.Lock()
	d.got = append(d.got, dl)
	d.mu.Unlock()
	d.ch <- dl
}

func (d *deadLetters) all() []DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]DeadLetter(nil), d.got...)
}

func testEvent(id string) Event {
	return Event{
		ID:       id,
		TenantID: "tenant-1",
		Name:     HookResetPassword,
		Time:     epoch,
		Data:     []byte(`{"Uid":"u-1","PhoneId":"+919999999999"}`),
	}
}

// evID returns a distinct, UUID-shaped event id.
func evID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }
