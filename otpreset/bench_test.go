package otpreset_test

// Benchmarks of the handler's paths, each beside the baseline it is judged
// against, so ratios come from one run:
//
//	go test -run '^$' -bench . -benchmem ./otpreset/
//
// BenchmarkReject/<path>/otpreset vs BenchmarkReject/<path>/bare: the same
// request answered by otpreset and by a bare net/http handler that decodes
// the same JSON body and writes the same status and bytes.
// BenchmarkResetSuccess/argon2id vs BenchmarkArgon2idCreateHash: a whole
// successful reset against one argon2id hash with the same parameters.
// Requests and response writers are reused, so allocs/op counts the
// handler's own allocations, not the harness's. Rate limits are off.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alexedwards/argon2id"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/store"
)

const (
	benchPhone    = "+919999999999"
	benchOldPass  = "old password 1"
	benchNewPass  = "StrongP@ssw0rd!"
	benchKeyQuery = "?apikey=" + otpresettest.APIKey
)

// newBenchEnv is a handler with every rate limit off and lockouts out of
// reach; hasher nil keeps otpresettest's fast one.
func newBenchEnv(b *testing.B, hasher otpreset.PasswordHasher) (*otpresettest.Env, *otpresettest.LastCodes) {
	b.Helper()
	snd := &otpresettest.LastCodes{}
	env := otpresettest.New(b, func(c *otpreset.Config, t *otpreset.Tenant) {
		c.Sender = snd
		if hasher != nil {
			c.Hasher = hasher
		}
		otpresettest.Unlimit(t) // every iteration is a wrong code, never a spent one
	})
	env.AddUser(benchPhone, benchOldPass)
	return env, snd
}

// benchWriter is a reusable ResponseWriter that keeps only the status.
type benchWriter struct {
	h      http.Header
	status int
	body   []byte
}

func newBenchWriter() *benchWriter { return &benchWriter{h: http.Header{}} }

func (w *benchWriter) Header() http.Header { return w.h }

func (w *benchWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

func (w *benchWriter) reset() {
	clear(w.h)
	w.status = 0
	w.body = w.body[:0]
}

// benchRequest is one request served again and again with the same body.
type benchRequest struct {
	req  *http.Request
	rd   *bytes.Reader
	data []byte
}

func newBenchRequest(method, target, body string) *benchRequest {
	br := &benchRequest{data: []byte(body)}
	br.rd = bytes.NewReader(br.data)
	br.req = httptest.NewRequest(method, target, nil)
	br.req.Body = io.NopCloser(br.rd)
	br.req.ContentLength = int64(len(br.data))
	br.req.Header.Set("Content-Type", "application/json")
	return br
}

func (br *benchRequest) serve(h http.Handler, w *benchWriter) {
	br.rd.Reset(br.data)
	w.reset()
	h.ServeHTTP(w, br.req)
}

// bareHandler is the baseline: decode the JSON body the way a minimal
// net/http handler would and answer fixed bytes.
func bareHandler(status int, answer []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Phone    string `json:"phone"`
			OTP      string `json:"otp"`
			Password string `json:"password"`
		}
		_ = json.NewDecoder(io.LimitReader(r.Body, otpreset.DefaultMaxBodyBytes)).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(answer)
	})
}

type rejectCase struct {
	name         string
	method       string
	target       string
	body         string
	wantStatus   int
	wantContains string
}

// rejectCases are the refusals that cost no hashing. The wrong code needs a
// live code for the phone, so it is built after a send.
func rejectCases(wrongOTP string) []rejectCase {
	resetBody := `{"phone":"` + benchPhone + `","otp":"` + wrongOTP + `","Password":"` + benchNewPass + `"}`
	return []rejectCase{
		{"MissingKey", http.MethodPut, otpreset.Path, resetBody, http.StatusBadRequest, `"ErrorCode":908`},
		{"UnknownKey", http.MethodPut, otpreset.Path + "?apikey=not-a-key", resetBody, http.StatusForbidden, `"ErrorCode":901`},
		{"MalformedBody", http.MethodPut, otpreset.Path + benchKeyQuery, `{"phone":"` + benchPhone + `","otp":`, http.StatusBadRequest, `"ErrorCode":1090`},
		{"WrongCode", http.MethodPut, otpreset.Path + benchKeyQuery, resetBody, http.StatusUnauthorized, `"errorCode":1409`},
	}
}

// wrongCode returns a code that is not the one just sent.
func wrongCode(right string) string {
	d := right[0] - '0'
	return string('0'+(d+1)%10) + right[1:]
}

// prepareRejects sends a code, then records what otpreset answers to each
// reject case, so the bare baseline can answer the very same bytes.
func prepareRejects(b *testing.B) (http.Handler, []rejectCase, [][]byte) {
	b.Helper()
	env, snd := newBenchEnv(b, nil)
	if rec := env.Send(benchPhone); rec.Code != http.StatusOK {
		b.Fatalf("send: %d %s", rec.Code, rec.Body)
	}
	cases := rejectCases(wrongCode(snd.Code(benchPhone)))
	answers := make([][]byte, len(cases))
	for i, c := range cases {
		w := newBenchWriter()
		newBenchRequest(c.method, c.target, c.body).serve(env.Handler, w)
		if w.status != c.wantStatus || !strings.Contains(string(w.body), c.wantContains) {
			b.Fatalf("%s: got %d %s, want %d with %s", c.name, w.status, w.body, c.wantStatus, c.wantContains)
		}
		answers[i] = bytes.Clone(w.body)
	}
	return env.Handler, cases, answers
}

func BenchmarkReject(b *testing.B) {
	h, cases, answers := prepareRejects(b)
	for i, c := range cases {
		handlers := []struct {
			name string
			h    http.Handler
		}{{"otpreset", h}, {"bare", bareHandler(c.wantStatus, answers[i])}}
		for _, hd := range handlers {
			b.Run(c.name+"/"+hd.name, func(b *testing.B) {
				b.ReportAllocs()
				br, w := newBenchRequest(c.method, c.target, c.body), newBenchWriter()
				for b.Loop() {
					br.serve(hd.h, w)
					if w.status != c.wantStatus {
						b.Fatalf("status %d, want %d: %s", w.status, c.wantStatus, w.body)
					}
				}
			})
		}
	}
}

// BenchmarkRejectParallel is BenchmarkReject from GOMAXPROCS goroutines:
// it shows lock contention (store, limiter) that a serial run hides.
func BenchmarkRejectParallel(b *testing.B) {
	h, cases, answers := prepareRejects(b)
	for i, c := range cases {
		handlers := []struct {
			name string
			h    http.Handler
		}{{"otpreset", h}, {"bare", bareHandler(c.wantStatus, answers[i])}}
		for _, hd := range handlers {
			b.Run(c.name+"/"+hd.name, func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					br, w := newBenchRequest(c.method, c.target, c.body), newBenchWriter()
					for pb.Next() {
						br.serve(hd.h, w)
						if w.status != c.wantStatus {
							b.Errorf("status %d, want %d: %s", w.status, c.wantStatus, w.body)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkSend is a code sent to a known phone (the sender answers at
// once; MinSendDuration is off).
func BenchmarkSend(b *testing.B) {
	env, _ := newBenchEnv(b, nil)
	b.ReportAllocs()
	br, w := newBenchRequest(http.MethodPost, otpreset.Path+benchKeyQuery, `{"phone":"`+benchPhone+`"}`), newBenchWriter()
	for b.Loop() {
		br.serve(env.Handler, w)
		if w.status != http.StatusOK {
			b.Fatalf("send: %d %s", w.status, w.body)
		}
	}
}

// BenchmarkResetSuccess is a whole successful reset with a fresh code each
// time (the send is outside the timer): "argon2id" with the production
// parameters, "fasthash" with otpresettest's cheap ones, which leaves the
// handler's and the store's own cost.
func BenchmarkResetSuccess(b *testing.B) {
	for _, hc := range []struct {
		name   string
		hasher otpreset.PasswordHasher
	}{
		{"argon2id", password.NewArgon2idHasher(nil, 0)},
		{"fasthash", nil},
	} {
		b.Run(hc.name, func(b *testing.B) {
			env, snd := newBenchEnv(b, hc.hasher)
			send := newBenchRequest(http.MethodPost, otpreset.Path+benchKeyQuery, `{"phone":"`+benchPhone+`"}`)
			w := newBenchWriter()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				send.serve(env.Handler, w)
				if w.status != http.StatusOK {
					b.Fatalf("send: %d %s", w.status, w.body)
				}
				reset := newBenchRequest(http.MethodPut, otpreset.Path+benchKeyQuery,
					`{"phone":"`+benchPhone+`","otp":"`+snd.Code(benchPhone)+`","Password":"`+benchNewPass+`"}`)
				b.StartTimer()
				reset.serve(env.Handler, w)
				if w.status != http.StatusOK {
					b.Fatalf("reset: %d %s", w.status, w.body)
				}
			}
		})
	}
}

// BenchmarkArgon2idCreateHash is the floor of a successful reset: one hash
// with the same parameters, no handler. "fast" has otpresettest's cheap
// parameters: BenchmarkResetSuccess/fasthash minus it is the handler's and
// the store's own cost.
func BenchmarkArgon2idCreateHash(b *testing.B) {
	defaults := password.DefaultArgon2idParams()
	for _, pc := range []struct {
		name   string
		params *argon2id.Params
	}{{"default", &defaults}, {"fast", otpresettest.FastHasherParams}} {
		b.Run(pc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := argon2id.CreateHash(benchNewPass, pc.params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNormalizePhone is the phone parsing every send and reset does
// first (libphonenumber's metadata and regular expressions).
func BenchmarkNormalizePhone(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := otpreset.NormalizePhone(benchPhone); err != nil {
			b.Fatal(err)
		}
	}
}

// spreadPhones is how many phones the spread benchmarks go through in turn,
// as cmd/floorbench's load does: each phone comes back once per that many
// requests, so a cache of recent phones smaller than that never hits.
const spreadPhones = 10_000

// spreadPhone is the i-th phone of the spread benchmarks.
func spreadPhone(i int) string { return fmt.Sprintf("+9199990%05d", i) }

// spreadStride walks the phones far apart (it is prime to spreadPhones).
const spreadStride = 7919

// BenchmarkNormalizePhoneSpread is the phone parsing of a load spread over
// spreadPhones phones ("10000phones", each parsed before the timer starts),
// and of a phone never seen before ("new", the cost of a first request, or
// of a load over more phones than the cache keeps).
func BenchmarkNormalizePhoneSpread(b *testing.B) {
	b.Run("10000phones", func(b *testing.B) {
		phones := make([]string, spreadPhones)
		for i := range phones {
			phones[i] = spreadPhone(i)
			if _, err := otpreset.NormalizePhone(phones[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			if _, err := otpreset.NormalizePhone(phones[i*spreadStride%spreadPhones]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			i := newPhones.Add(1)
			if _, err := otpreset.NormalizePhone("+9198" + strconv.FormatUint(10_000_000+i%90_000_000, 10)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// newPhones numbers the phones BenchmarkNormalizePhoneSpread/new parses, so
// that no run parses one an earlier run of the process did.
var newPhones atomic.Uint64

// BenchmarkRejectSpread is BenchmarkReject/WrongCode/otpreset spread over
// spreadPhones users, each with a live code, in turn.
func BenchmarkRejectSpread(b *testing.B) {
	env, snd := newBenchEnv(b, nil)
	seeder, ok := env.Store.(otpresettest.UserSeeder)
	if !ok {
		b.Fatalf("%T seeds no users", env.Store)
	}
	hash, err := env.Hasher.Hash(context.Background(), benchOldPass) // once: a wrong code never reads it
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]*benchRequest, spreadPhones)
	for i := range reqs {
		p := spreadPhone(i)
		u := store.User{TenantID: env.Tenant.ID, ID: otpresettest.UserID(p), Phone: p, PasswordHash: hash, Profile: []byte(`{}`)}
		if err := seeder.AddUser(context.Background(), u); err != nil {
			b.Fatal(err)
		}
		if rec := env.Send(p); rec.Code != http.StatusOK {
			b.Fatalf("send: %d %s", rec.Code, rec.Body)
		}
		reqs[i] = newBenchRequest(http.MethodPut, otpreset.Path+benchKeyQuery,
			`{"phone":"`+p+`","otp":"`+wrongCode(snd.Code(p))+`","Password":"`+benchNewPass+`"}`)
	}
	runtime.GC() // the setup's garbage is not the loop's
	w := newBenchWriter()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		reqs[i*spreadStride%spreadPhones].serve(env.Handler, w)
		if w.status != http.StatusUnauthorized {
			b.Fatalf("status %d, want 401: %s", w.status, w.body)
		}
	}
}
