package sqlstore_test

// The otpreset handler over PostgreSQL, end to end: what one request costs
// in round trips and transactions (counted with a pgx tracer), beside its
// time. The password hasher is otpresettest's cheap one, so the numbers are
// the store's and the handler's, not argon2id's.
//
//	OTPRESET_POSTGRES_URL=postgres://... go test -run Handler -bench Handler ./store/sqlstore/

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/sqlstore"
)

const hbPhone = "+919999999999"

// hbTracer counts what the pool sends: statements (BEGIN and COMMIT
// included) and prepares, each one round trip.
type hbTracer struct {
	mu       sync.Mutex
	sql      []string
	prepares int
}

func (c *hbTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sql = append(c.sql, d.SQL)
	return ctx
}

func (c *hbTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *hbTracer) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prepares++
	return ctx
}

func (c *hbTracer) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// take returns and forgets what was counted.
func (c *hbTracer) take() (sql []string, prepares int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sql, prepares = c.sql, c.prepares
	c.sql, c.prepares = nil, 0
	return sql, prepares
}

// hbCount is one request's cost.
type hbCount struct {
	roundTrips   int // statements + prepares
	transactions int // BEGINs
	inTx         int // statements between BEGIN and COMMIT/ROLLBACK, both excluded
	sql          []string
}

func countOf(sql []string, prepares int) hbCount {
	c := hbCount{roundTrips: len(sql) + prepares, sql: sql}
	open := false
	for _, s := range sql {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "begin", "begin isolation level read committed":
			c.transactions++
			open = true
		case "commit", "rollback":
			open = false
		default:
			if open {
				c.inTx++
			}
		}
	}
	return c
}

// hbSender keeps the last code per phone.
type hbSender struct {
	mu    sync.Mutex
	codes map[string]string
}

func (s *hbSender) Send(_ context.Context, m sms.Message) (sms.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[m.To] = m.Code
	return sms.Receipt{AccountSid: "AC00000000000000000000000000000000", Sid: "SM00000000000000000000000000000000"}, nil
}

func (s *hbSender) code(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[phone]
}

// hbEnv is an otpreset handler over a migrated PostgreSQL store in a schema
// of its own, with rate limits off and one user.
type hbEnv struct {
	handler http.Handler
	sender  *hbSender
	tracer  *hbTracer
}

func newHBEnv(t testing.TB) *hbEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	schemaURL := sqlstore.PGSchemaURL(t)

	tracer := &hbTracer{}
	pc, err := pgxpool.ParseConfig(schemaURL)
	require.NoError(t, err)
	pc.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st := sqlstore.NewPostgres(pool, sqlstore.Config{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, st.Migrate(ctx))

	snd := &hbSender{codes: map[string]string{}}
	env := otpresettest.New(t, func(c *otpreset.Config, tn *otpreset.Tenant) {
		c.Store, c.Sender = st, snd
		tn.Limits = otpreset.Limits{
			SendPerPhone: "off", SendPerIP: "off", SMSPerTenantDay: "off",
			ResetPerPhone: "off", ResetPerIP: "off",
			LockoutAttempts: math.MaxInt32,
		}
		tn.Pumping.PrefixDailyCap = "off"
		tn.MaxCodeAttempts = math.MaxInt32
	})
	hash, err := env.Hasher.Hash(ctx, "old password 1")
	require.NoError(t, err)
	require.NoError(t, st.AddUser(ctx, store.User{TenantID: otpresettest.TenantID, ID: "uid-1", Phone: hbPhone,
		PasswordHash: hash, Profile: json.RawMessage(`{"Uid":"uid-1","PhoneId":"` + hbPhone + `"}`)}))
	return &hbEnv{handler: env.Handler, sender: snd, tracer: tracer}
}

func (e *hbEnv) do(method, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, otpreset.Path+"?apikey="+otpresettest.APIKey, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec
}

func (e *hbEnv) send(t testing.TB) string {
	t.Helper()
	rec := e.do(http.MethodPost, `{"phone":"`+hbPhone+`"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return e.sender.code(hbPhone)
}

func resetJSON(code string) string {
	return `{"phone":"` + hbPhone + `","otp":"` + code + `","Password":"StrongP@ssw0rd!"}`
}

// TestHandlerRoundTripsPostgres pins what one request costs PostgreSQL once
// the pool's statements are prepared: a successful reset is one transaction
// of three round trips (BEGIN, one statement, COMMIT), after the user lookup
// and the code check the handler makes before hashing.
func TestHandlerRoundTripsPostgres(t *testing.T) {
	e := newHBEnv(t)
	// Warm up: every statement prepared on the pool's connection.
	code := e.send(t)
	require.Equal(t, http.StatusUnauthorized, e.do(http.MethodPut, resetJSON(wrong(code))).Code)
	require.Equal(t, http.StatusOK, e.do(http.MethodPut, resetJSON(code)).Code)

	code = e.send(t)
	e.tracer.take()
	rec := e.do(http.MethodPut, resetJSON(code))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	c := countOf(e.tracer.take())
	t.Logf("successful reset: %d round trips, %d transaction(s), %d statement(s) inside: %q", c.roundTrips, c.transactions, c.inTx, c.sql)
	assert.Equal(t, 1, c.transactions, "one transaction")
	assert.Equal(t, 1, c.inTx, "one statement inside it: BEGIN, statement, COMMIT")
	assert.LessOrEqual(t, c.roundTrips, 5, "user lookup, code check, then the 3 of the transaction")

	code = e.send(t)
	e.tracer.take()
	rec = e.do(http.MethodPut, resetJSON(wrong(code)))
	require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
	c = countOf(e.tracer.take())
	t.Logf("wrong code: %d round trips, %d transaction(s): %q", c.roundTrips, c.transactions, c.sql)
	assert.Zero(t, c.transactions, "a wrong code is refused before the reset transaction")
	assert.LessOrEqual(t, c.roundTrips, 3)

	e.tracer.take()
	e.send(t)
	c = countOf(e.tracer.take())
	t.Logf("send: %d round trips: %q", c.roundTrips, c.sql)
	assert.LessOrEqual(t, c.roundTrips, 2, "user lookup and the code saved")
}

func wrong(code string) string {
	return string('0'+(code[0]-'0'+1)%10) + code[1:]
}

// BenchmarkHandlerPostgres is one request through the handler and the
// store, with round trips and transactions per request as metrics.
func BenchmarkHandlerPostgres(b *testing.B) {
	b.Run("ResetSuccess", func(b *testing.B) {
		e := newHBEnv(b)
		b.ReportAllocs()
		var trips, txs int
		for b.Loop() {
			b.StopTimer()
			body := resetJSON(e.send(b))
			e.tracer.take()
			b.StartTimer()
			if rec := e.do(http.MethodPut, body); rec.Code != http.StatusOK {
				b.Fatalf("reset: %d %s", rec.Code, rec.Body)
			}
			c := countOf(e.tracer.take())
			trips, txs = trips+c.roundTrips, txs+c.transactions
		}
		b.ReportMetric(float64(trips)/float64(b.N), "roundtrips/op")
		b.ReportMetric(float64(txs)/float64(b.N), "tx/op")
	})
	b.Run("WrongCode", func(b *testing.B) {
		e := newHBEnv(b)
		body := resetJSON(wrong(e.send(b)))
		b.ReportAllocs()
		e.tracer.take()
		for b.Loop() {
			if rec := e.do(http.MethodPut, body); rec.Code != http.StatusUnauthorized {
				b.Fatalf("wrong code: %d %s", rec.Code, rec.Body)
			}
		}
		sql, prepares := e.tracer.take()
		b.ReportMetric(float64(len(sql)+prepares)/float64(b.N), "roundtrips/op")
	})
	b.Run("Send", func(b *testing.B) {
		e := newHBEnv(b)
		body := `{"phone":"` + hbPhone + `"}`
		b.ReportAllocs()
		e.tracer.take()
		for b.Loop() {
			if rec := e.do(http.MethodPost, body); rec.Code != http.StatusOK {
				b.Fatalf("send: %d %s", rec.Code, rec.Body)
			}
		}
		sql, prepares := e.tracer.take()
		b.ReportMetric(float64(len(sql)+prepares)/float64(b.N), "roundtrips/op")
	})
}
