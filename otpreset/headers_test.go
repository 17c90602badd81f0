package otpreset_test

// The headers the handler parses are read to a bound: a send with a hostile
// 1 MB Accept-Language, X-Forwarded-For or Forwarded costs about what a
// send with a 1 MB header nobody reads costs. Each request is read from its
// raw bytes as the server reads it (http.ReadRequest), then served, so the
// cost of the header's bytes is in both. Compare in one run:
//
//	go test -run '^$' -bench SendHeader -benchmem ./otpreset/
//
// BenchmarkSendHeader/junk is the baseline; every other case should stay
// within twice its ns/op. TestSendHeaderWorkBounded checks the same without
// a clock, by the bytes a send allocates.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/sms"
)

type hostileHeader struct {
	name, key, value string
	status           int
}

// hostileHeaders are headers of size bytes: first a junk header the
// handler never reads, then shapes of each header it parses, several of
// which once cost work per entry without bound.
func hostileHeaders(size int) []hostileHeader {
	fill := func(s string) string { return strings.Repeat(s, size/len(s)) }
	return []hostileHeader{
		{"junk", "X-Junk", fill("a"), http.StatusOK},
		{"accept-language/comma-one", "Accept-Language", fill(",1"), http.StatusOK},
		{"accept-language/empty", "Accept-Language", fill(","), http.StatusOK},
		{"accept-language/q=0", "Accept-Language", fill("en;q=0,"), http.StatusOK},
		{"accept-language/unparsable", "Accept-Language", fill("!!!,"), http.StatusOK},
		{"accept-language/valid", "Accept-Language", fill("fr;q=0.9,"), http.StatusOK},
		{"accept-language/one-entry", "Accept-Language", fill("a"), http.StatusOK},
		{"x-forwarded-for/comma-one", "X-Forwarded-For", fill(",1"), http.StatusOK},
		{"x-forwarded-for/trusted", "X-Forwarded-For", fill("127.0.0.1,"), http.StatusOK},
		{"x-forwarded-for/one-entry", "X-Forwarded-For", fill("1"), http.StatusOK},
		{"forwarded/trusted", "Forwarded", fill("for=127.0.0.1;a=b,"), http.StatusOK},
		{"forwarded/params", "Forwarded", "for=127.0.0.1" + fill(";a=b"), http.StatusOK},
		{"x-preventwebhook", "X-PreventWebhook", fill("y"), http.StatusOK},
		{"api-key", "X-LoginRadius-ApiKey", fill("k"), http.StatusForbidden},
	}
}

type discardSender struct{}

func (discardSender) Send(context.Context, sms.Message) (sms.Receipt, error) {
	return sms.Receipt{AccountSid: "AC00000000000000000000000000000000", Sid: "SM00000000000000000000000000000000"}, nil
}

// headerHandler is a handler with every limit off, behind a loopback
// proxy that sets header (so the forwarding headers are read).
func headerHandler(tb testing.TB, header string) http.Handler {
	tb.Helper()
	clientIP, err := otpreset.TrustedProxies(header, "127.0.0.0/8")
	require.NoError(tb, err)
	env := otpresettest.New(tb, func(c *otpreset.Config, t *otpreset.Tenant) {
		c.Sender = discardSender{}
		c.ClientIP = clientIP
		otpresettest.Unlimit(t)
	})
	env.AddUser(benchPhone, benchOldPass)
	return env.Handler
}

// sendWith returns a function that reads a send to a known phone with the
// header from its raw bytes, serves it and checks the answer.
func sendWith(tb testing.TB, c hostileHeader) func() {
	tb.Helper()
	proxyHeader := "X-Forwarded-For"
	if c.key == "Forwarded" {
		proxyHeader = c.key
	}
	h := headerHandler(tb, proxyHeader)
	body := `{"phone":"` + benchPhone + `"}`
	raw := []byte(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s: %s\r\n\r\n%s",
		otpreset.Path+benchKeyQuery, len(body), c.key, c.value, body))
	rd := bytes.NewReader(raw)
	br := bufio.NewReader(rd)
	w := newBenchWriter()
	return func() {
		rd.Reset(raw)
		br.Reset(rd)
		req, err := http.ReadRequest(br)
		if err != nil {
			tb.Fatal(err)
		}
		req.RemoteAddr = "127.0.0.1:4711"
		w.reset()
		h.ServeHTTP(w, req)
		if w.status != c.status {
			tb.Fatalf("%s: %d %s", c.name, w.status, w.body)
		}
	}
}

func BenchmarkSendHeader(b *testing.B) {
	for _, c := range hostileHeaders(1 << 20) {
		b.Run(c.name, func(b *testing.B) {
			send := sendWith(b, c)
			b.ReportAllocs()
			for b.Loop() {
				send()
			}
		})
	}
}

// allocatedBytes is the bytes f allocates, averaged over runs.
func allocatedBytes(runs int, f func()) uint64 {
	f() // warm up: pools, caches, lazily built state
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestSendHeaderWorkBounded counts work instead of timing it: reading and
// serving a send with any hostile header allocates at most twice the bytes
// of one with a header of the same size nobody reads (the unbounded
// Accept-Language parse allocated for each entry of ",1" repeated, 13 times
// the junk header's bytes, and X-Forwarded-For was split whole). 256 KiB
// is far past every bound and keeps the test quick under -race; the
// benchmark uses 1 MiB.
func TestSendHeaderWorkBounded(t *testing.T) {
	cases := hostileHeaders(256 << 10)
	junk := allocatedBytes(2, sendWith(t, cases[0]))
	for _, c := range cases[1:] {
		got := allocatedBytes(1, sendWith(t, c))
		assert.LessOrEqual(t, got, 2*junk, "%s: %d bytes allocated per send, %d with a junk header", c.name, got, junk)
	}
}
