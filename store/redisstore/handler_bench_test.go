package redisstore_test

// The otpreset handler over Redis, end to end, as several instances would
// run it: users in the host's store (memstore here), codes and sessions in
// Redis (store.Composite), rate limits and lockouts in Redis too
// (NewLimiterStore). A go-redis hook counts round trips per request. The
// hasher is otpresettest's cheap one, so the time is the store's and the
// handler's, not argon2id's.
//
//	OTPRESET_REDIS_URL=redis://... go test -run Handler -bench Handler ./store/redisstore/

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/redisstore"
)

const hbPhone = "+919999999999"

// roundTrips counts what the client sends: one per command, one per
// pipeline.
type roundTrips struct{ n atomic.Int64 }

func (c *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

func (c *roundTrips) take() int64 { return c.n.Swap(0) }

type hbEnv struct {
	handler http.Handler
	sender  *otpresettest.LastCodes
	trips   *roundTrips
}

// newHBEnv builds the handler; limits says whether the rate limits are on
// (with their defaults) or off, as in a benchmark.
func newHBEnv(t testing.TB, limits bool) *hbEnv {
	t.Helper()
	client := newClient(t)
	prefix := testPrefix(t, client)
	trips := &roundTrips{}
	client.AddHook(trips)
	rs, err := redisstore.New(client, redisstore.Config{Prefix: prefix})
	require.NoError(t, err)
	ls, err := redisstore.NewLimiterStore(client, prefix+"limits:")
	require.NoError(t, err)
	users := memstore.New()
	snd := &otpresettest.LastCodes{}
	env := otpresettest.New(t, func(c *otpreset.Config, tn *otpreset.Tenant) {
		c.Store = store.Composite{Users: users, Challenges: rs, Sessions: rs}
		c.Sender = snd
		c.RateLimitStore = ls
		tn.Limits.LockoutAttempts = math.MaxInt32
		tn.Limits.SendPerPhone = "100-15M" // the test sends more than the default 3
		tn.MaxCodeAttempts = -1            // no per-code limit
		if !limits {
			otpresettest.Unlimit(tn)
		}
	})
	hash, err := env.Hasher.Hash(context.Background(), "old password 1")
	require.NoError(t, err)
	require.NoError(t, users.AddUser(context.Background(), store.User{TenantID: otpresettest.TenantID, ID: "uid-1", Phone: hbPhone,
		PasswordHash: hash, Profile: json.RawMessage(`{"Uid":"uid-1","PhoneId":"` + hbPhone + `"}`)}))
	return &hbEnv{handler: env.Handler, sender: snd, trips: trips}
}

func (e *hbEnv) do(method, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, otpreset.Path+"?apikey="+otpresettest.APIKey, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = net.JoinHostPort("192.0.2.1", "1234")
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec
}

func (e *hbEnv) send(t testing.TB) string {
	t.Helper()
	rec := e.do(http.MethodPost, `{"phone":"`+hbPhone+`"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return e.sender.Code(hbPhone)
}

func resetJSON(code string) string {
	return `{"phone":"` + hbPhone + `","otp":"` + code + `","Password":"StrongP@ssw0rd!"}`
}

func wrong(code string) string {
	return string('0'+(code[0]-'0'+1)%10) + code[1:]
}

// TestHandlerRoundTripsRedis reports (and bounds) the Redis round trips of
// each request with the default rate limits on, everything in Redis but the
// users.
func TestHandlerRoundTripsRedis(t *testing.T) {
	e := newHBEnv(t, true)
	code := e.send(t) // warm up: the scripts loaded
	require.Equal(t, http.StatusOK, e.do(http.MethodPut, resetJSON(code)).Code)

	tests := []struct {
		name    string
		prepare func() string // returns the body
		method  string
		want    int
		max     int64
	}{
		// The IP limit, the phone's, tenant's and prefix's SMS caps looked
		// at, the code issued (one script: the network's send limit
		// counted and the live code kept), the three caps counted.
		{"send", func() string { return `{"phone":"` + hbPhone + `"}` }, http.MethodPost, http.StatusOK, 8},
		// The IP limit, then one script: the network's lockout and the
		// phone's budget decided, the code compared, the failure counted.
		{"wrong code", func() string { return resetJSON(wrong(e.send(t))) }, http.MethodPut, http.StatusUnauthorized, 2},
		// The IP limit, the code check, consume, revoke, new session,
		// counters cleared (one DEL), and the notice's three caps.
		{"successful reset", func() string { return resetJSON(e.send(t)) }, http.MethodPut, http.StatusOK, 9},
	}
	for _, tc := range tests {
		body := tc.prepare()
		e.trips.take()
		rec := e.do(tc.method, body)
		require.Equal(t, tc.want, rec.Code, "%s: %s", tc.name, rec.Body)
		n := e.trips.take()
		t.Logf("%s: %d Redis round trips", tc.name, n)
		assert.Positive(t, n, tc.name)
		assert.LessOrEqual(t, n, tc.max, tc.name)
	}
}

// BenchmarkHandlerRedis is one request through the handler with codes,
// sessions and limits in Redis, rate limits off (so nothing is refused),
// with round trips per request as a metric.
func BenchmarkHandlerRedis(b *testing.B) {
	b.Run("ResetSuccess", func(b *testing.B) {
		e := newHBEnv(b, false)
		b.ReportAllocs()
		var trips int64
		for b.Loop() {
			b.StopTimer()
			body := resetJSON(e.send(b))
			e.trips.take()
			b.StartTimer()
			if rec := e.do(http.MethodPut, body); rec.Code != http.StatusOK {
				b.Fatalf("reset: %d %s", rec.Code, rec.Body)
			}
			trips += e.trips.take()
		}
		b.ReportMetric(float64(trips)/float64(b.N), "roundtrips/op")
	})
	b.Run("WrongCode", func(b *testing.B) {
		e := newHBEnv(b, false)
		body := resetJSON(wrong(e.send(b)))
		b.ReportAllocs()
		e.trips.take()
		for b.Loop() {
			if rec := e.do(http.MethodPut, body); rec.Code != http.StatusUnauthorized {
				b.Fatalf("wrong code: %d %s", rec.Code, rec.Body)
			}
		}
		b.ReportMetric(float64(e.trips.take())/float64(b.N), "roundtrips/op")
	})
	b.Run("Send", func(b *testing.B) {
		e := newHBEnv(b, false)
		body := `{"phone":"` + hbPhone + `"}`
		b.ReportAllocs()
		e.trips.take()
		for b.Loop() {
			if rec := e.do(http.MethodPost, body); rec.Code != http.StatusOK {
				b.Fatalf("send: %d %s", rec.Code, rec.Body)
			}
		}
		b.ReportMetric(float64(e.trips.take())/float64(b.N), "roundtrips/op")
	})
}
