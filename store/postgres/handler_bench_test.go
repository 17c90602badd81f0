package postgres_test

// The otpreset handler over PostgreSQL, end to end: what one request costs
// in round trips and transactions (counted with a pgx tracer), beside its
// time. The handler is otpresettest's, over this store (WithStore), so the
// password hasher is its cheap one and the numbers are the store's and the
// handler's, not argon2id's.
//
//	OTPRESET_POSTGRES_URL=postgres://... go test -run Handler -bench Handler ./store/postgres/

import (
	"context"
	"log/slog"
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

	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store/internal/pgtest"
	"github.com/otpreset/go/store/postgres"
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

// newHandlerEnv is otpresettest's handler over a migrated PostgreSQL store
// in a schema of its own, traced, with rate limits off and one user.
func newHandlerEnv(t testing.TB) (*otpresettest.Env, *hbTracer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tracer := &hbTracer{}
	pc, err := pgxpool.ParseConfig(pgtest.SchemaURL(t))
	require.NoError(t, err)
	pc.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st := postgres.New(pool, postgres.Config{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, st.Migrate(ctx))

	env := otpresettest.New(t, otpresettest.WithStore(st), otpresettest.Unlimited)
	env.AddUser(hbPhone, "old password 1")
	return env, tracer
}

// send asks for a code and returns it.
func send(t testing.TB, env *otpresettest.Env) string {
	t.Helper()
	rec := env.Send(hbPhone)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return env.Code(hbPhone)
}

func reset(env *otpresettest.Env, code string) *httptest.ResponseRecorder {
	return env.Reset(hbPhone, code, "StrongP@ssw0rd!")
}

// TestHandlerRoundTrips pins what one request costs PostgreSQL once the
// pool's statements are prepared (issue 23). A reset checks the code first
// (CheckCode: the network's lockout, the phone's budget and the comparison,
// one function call that reads no user); a wrong code stops there, a right
// one looks the user up (UserByPhone), hashes, and is applied in one
// statement that is atomic alone and clears the phone's counters too. A send
// is IssueCode: the user looked up, the send counted and the code issued in
// one statement. TestRoundTrips pins the store's side.
func TestHandlerRoundTrips(t *testing.T) {
	env, tracer := newHandlerEnv(t)
	// Warm up: every statement prepared on the pool's connection.
	code := send(t, env)
	require.Equal(t, http.StatusUnauthorized, reset(env, wrong(code)).Code)
	require.Equal(t, http.StatusOK, reset(env, code).Code)

	code = send(t, env)
	tracer.take()
	rec := reset(env, code)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	c := countOf(tracer.take())
	t.Logf("successful reset: %d round trips, %d transaction(s), %d statement(s) inside: %q", c.roundTrips, c.transactions, c.inTx, c.sql)
	assert.Zero(t, c.transactions, "the reset statement is atomic alone")
	assert.Equal(t, 3, c.roundTrips, "code check, user, the reset statement (which clears the counters too)")

	code = send(t, env)
	tracer.take()
	rec = reset(env, wrong(code))
	require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
	c = countOf(tracer.take())
	t.Logf("wrong code: %d round trips, %d transaction(s): %q", c.roundTrips, c.transactions, c.sql)
	assert.Zero(t, c.transactions, "a wrong code is refused before the reset transaction")
	assert.Equal(t, 1, c.roundTrips, "the code check alone: no user read")

	tracer.take()
	send(t, env)
	c = countOf(tracer.take())
	t.Logf("send: %d round trips: %q", c.roundTrips, c.sql)
	assert.Equal(t, 1, c.roundTrips, "the user lookup, the send counted and the code issued, one statement")
}

func wrong(code string) string {
	return string('0'+(code[0]-'0'+1)%10) + code[1:]
}

// BenchmarkHandler is one request through the handler and the store, with
// round trips and transactions per request as metrics.
func BenchmarkHandler(b *testing.B) {
	b.Run("ResetSuccess", func(b *testing.B) {
		env, tracer := newHandlerEnv(b)
		b.ReportAllocs()
		var trips, txs int
		for b.Loop() {
			b.StopTimer()
			code := send(b, env)
			tracer.take()
			b.StartTimer()
			if rec := reset(env, code); rec.Code != http.StatusOK {
				b.Fatalf("reset: %d %s", rec.Code, rec.Body)
			}
			c := countOf(tracer.take())
			trips, txs = trips+c.roundTrips, txs+c.transactions
		}
		b.ReportMetric(float64(trips)/float64(b.N), "roundtrips/op")
		b.ReportMetric(float64(txs)/float64(b.N), "tx/op")
	})
	b.Run("WrongCode", func(b *testing.B) {
		env, tracer := newHandlerEnv(b)
		code := wrong(send(b, env))
		b.ReportAllocs()
		tracer.take()
		for b.Loop() {
			if rec := reset(env, code); rec.Code != http.StatusUnauthorized {
				b.Fatalf("wrong code: %d %s", rec.Code, rec.Body)
			}
		}
		sql, prepares := tracer.take()
		b.ReportMetric(float64(len(sql)+prepares)/float64(b.N), "roundtrips/op")
	})
	b.Run("Send", func(b *testing.B) {
		env, tracer := newHandlerEnv(b)
		b.ReportAllocs()
		tracer.take()
		for b.Loop() {
			if rec := env.Send(hbPhone); rec.Code != http.StatusOK {
				b.Fatalf("send: %d %s", rec.Code, rec.Body)
			}
		}
		sql, prepares := tracer.take()
		b.ReportMetric(float64(len(sql)+prepares)/float64(b.N), "roundtrips/op")
	})
}
