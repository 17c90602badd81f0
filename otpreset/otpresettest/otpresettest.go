// Package otpresettest makes a mounted otpreset handler testable in a few
// lines, as net/http/httptest does for handlers: a capturing SMS sender (read
// the code that was sent), a fixed clock, a capturing webhook sink and an
// in-memory store with seeded users, wired into a ready Handler.
//
//	env := otpresettest.New(t)
//	env.AddUser("+919999999999", "old password")
//	env.Send("+919999999999")                      // POST
//	rec := env.Reset("+919999999999", env.Code("+919999999999"), "new password 1")
//
// A host tests its own wiring the same way: WithStore puts the host's store
// (any store.Store whose users can be seeded) under the handler, and Mount
// sends every request through the host's router, under the path it mounted
// the handler at:
//
//	env := otpresettest.New(t, otpresettest.WithStore(st))
//	env.Mount(newRouter(env.Handler), "/api")
package otpresettest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/password"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/webhook"
)

// APIKey is the test tenant's API key; TenantID its id.
const (
	APIKey   = "test-api-key"
	TenantID = "test-tenant"
)

// Start is the fixed clock's initial time.
var Start = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// FastHasherParams are cheap argon2id parameters so tests run quickly. Never
// use them in production.
var FastHasherParams = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Clock is a fixed clock that moves only when told.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now implements otpreset.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sender captures every message instead of sending it.
type Sender struct {
	mu       sync.Mutex
	messages []sms.Message
	// Err, when set, is returned by Send (and nothing is captured).
	Err error
}

// Send implements sms.Sender.
func (s *Sender) Send(_ context.Context, m sms.Message) (sms.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return sms.Receipt{}, s.Err
	}
	s.messages = append(s.messages, m)
	return sms.Receipt{AccountSid: "AC00000000000000000000000000000000", Sid: sms.NewSid(sms.SidPrefix(m.Voice), nil)}, nil
}

// Messages returns every captured message, oldest first.
func (s *Sender) Messages() []sms.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sms.Message(nil), s.messages...)
}

// Code returns the code of the last code message sent to phone ("" if
// none); the reset notice, which holds no code, is passed over.
func (s *Sender) Code(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.messages) - 1; i >= 0; i-- {
		if s.messages[i].To == phone && s.messages[i].Code != "" {
			return s.messages[i].Code
		}
	}
	return ""
}

// LastCodes is a Sender for benchmarks and load tests: it keeps only the
// last code sent to each phone, so its memory grows with the phones, not
// with the messages (Sender keeps every message). The zero value is ready.
type LastCodes struct {
	mu    sync.Mutex
	codes map[string]string
}

// Send implements sms.Sender.
func (s *LastCodes) Send(_ context.Context, m sms.Message) (sms.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Code != "" { // not the notice after a reset
		if s.codes == nil {
			s.codes = map[string]string{}
		}
		s.codes[m.To] = m.Code
	}
	return sms.Receipt{AccountSid: "AC00000000000000000000000000000000", Sid: "SM00000000000000000000000000000000"}, nil
}

// Code returns the last code sent to phone ("" if none).
func (s *LastCodes) Code(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[phone]
}

// Webhooks captures emitted events.
type Webhooks struct {
	mu     sync.Mutex
	events []webhook.Event
}

// Emit implements webhook.Sink.
func (w *Webhooks) Emit(_ context.Context, e webhook.Event) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, e)
	return nil
}

// Events returns the captured events.
func (w *Webhooks) Events() []webhook.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]webhook.Event(nil), w.events...)
}

// Env is a ready handler with its fakes.
type Env struct {
	T       testing.TB
	Handler *otpreset.Handler
	// Router, when set (by Mount), serves every request Do makes: the host's
	// router with Handler mounted on it. Nil means Handler itself.
	Router http.Handler
	// Prefix is the path Handler is mounted under on Router ("/api"); Send
	// and Reset put it before otpreset.Path.
	Prefix string
	Config otpreset.Config
	Tenant *otpreset.Tenant
	// Store is the store the handler uses: a new memstore, or the one an
	// option put in Config.Store (WithStore). AddUser and PasswordWorks use
	// it, so its users must be seedable (UserSeeder, directly or as the
	// Users of a store.Composite).
	Store    store.Store
	Sender   *Sender
	Clock    *Clock
	Webhooks *Webhooks
	Hasher   otpreset.PasswordHasher
}

// Option changes the Config or Tenant before the handler is built.
type Option func(*otpreset.Config, *otpreset.Tenant)

// WithStore makes s the handler's store, and the one AddUser and
// PasswordWorks use: a host's SQL store, say, to test its own tables.
func WithStore(s store.Store) Option {
	return func(c *otpreset.Config, _ *otpreset.Tenant) { c.Store = s }
}

// Unlimited is the Option of load tests and benchmarks: Unlimit on the
// tenant.
var Unlimited Option = func(_ *otpreset.Config, t *otpreset.Tenant) { Unlimit(t) }

// Unlimit turns every rate limit and cap of t off and puts its lockouts
// and the code's own try limit out of reach, so that every wrong code is
// answered 401 and counted, and every send to a known phone sends: what a
// benchmark of the request's own cost needs. Never in production: the
// limits are what keep guessing and SMS pumping out.
func Unlimit(t *otpreset.Tenant) {
	t.Limits = otpreset.Limits{
		SendPerPhone: "off", SendPerIP: "off", SMSPerPhoneDay: "off", SMSPerTenantDay: "off",
		ResetPerIP: "off", GuessBudget: "off",
		LockoutAttempts: math.MaxInt32,
	}
	t.Pumping.PrefixDailyCap = "off"
	t.MaxCodeAttempts = -1 // no per-code limit: a wrong code stays a wrong code
}

// UserSeeder is what AddUser needs from the store: storetest.UserSeeder,
// which every built-in store implements (a SQL store over a host's table
// through HostUsers.AddUser).
type UserSeeder interface {
	AddUser(ctx context.Context, u store.User) error
}

// New builds an Env: tenant TenantID under APIKey, memstore, capturing
// sender and webhooks, fixed clock at Start, a fast hasher.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	e := &Env{
		T:        t,
		Tenant:   &otpreset.Tenant{ID: TenantID, AppName: "Test"},
		Store:    memstore.New(),
		Sender:   &Sender{},
		Clock:    NewClock(Start),
		Webhooks: &Webhooks{},
		Hasher:   password.NewArgon2idHasher(FastHasherParams, 0),
	}
	e.Config = otpreset.Config{
		Store:    e.Store,
		Sender:   e.Sender,
		Tenants:  otpreset.Tenants{APIKey: e.Tenant},
		Secret:   []byte("otpresettest secret, never for production"),
		Hasher:   e.Hasher,
		Clock:    e.Clock,
		Webhooks: e.Webhooks,
		// Quiet by default; set Config.Logger to see or capture the lines.
		Logger: slog.New(slog.DiscardHandler),
		// No send floor: tests are fast. Set it back to test timing.
		MinSendDuration: -1,
	}
	for _, o := range opts {
		o(&e.Config, e.Tenant)
	}
	e.Store = e.Config.Store
	h, err := otpreset.New(e.Config)
	if err != nil {
		t.Fatalf("otpresettest: %v", err)
	}
	e.Handler = h
	return e
}

// Mount sends every later request of Do, Send and Reset through router, the
// host's own router on which Handler is mounted under prefix ("" for the
// root, "/api" for api.Handle(otpreset.Path, env.Handler) on a subrouter of
// /api). The host's middleware and routing are then part of the test.
func (e *Env) Mount(router http.Handler, prefix string) {
	e.Router, e.Prefix = router, prefix
}

// Path is where the handler answers: Prefix + otpreset.Path.
func (e *Env) Path() string { return e.Prefix + otpreset.Path }

// seeder finds where AddUser can add users.
func (e *Env) seeder() UserSeeder {
	switch s := e.Store.(type) {
	case UserSeeder:
		return s
	case store.Composite:
		if us, ok := s.Users.(UserSeeder); ok {
			return us
		}
	case *store.Composite:
		if us, ok := s.Users.(UserSeeder); ok {
			return us
		}
	}
	e.T.Fatalf("otpresettest: AddUser: %T cannot add users (it needs AddUser(ctx, store.User) error)", e.Store)
	return nil
}

// AddUser seeds a user with phone (E.164) and password, with the ID
// UserID(phone) (which a store that assigns its own ids replaces) and a
// minimal LoginRadius profile, and returns the user as the store now holds
// it.
func (e *Env) AddUser(phone, password string) store.User {
	e.T.Helper()
	hash, err := e.Hasher.Hash(context.Background(), password)
	if err != nil {
		e.T.Fatalf("otpresettest: hash: %v", err)
	}
	profile, _ := json.Marshal(map[string]any{
		"Uid": UserID(phone), "ID": UserID(phone), "PhoneId": phone, "PhoneIdVerified": true,
		"FirstName": "Test", "IsActive": true, "CustomFields": map[string]string{"team": "blue"},
	})
	u := store.User{TenantID: e.Tenant.ID, ID: UserID(phone), Phone: phone, PasswordHash: hash, Profile: profile}
	if err := e.seeder().AddUser(context.Background(), u); err != nil {
		e.T.Fatalf("otpresettest: add user: %v", err)
	}
	got, err := e.Store.UserByPhone(context.Background(), u.TenantID, phone)
	if err != nil {
		e.T.Fatalf("otpresettest: the user just added is not found: %v", err)
	}
	return got
}

// UserID is the ID AddUser gives the user of phone: derived from it, without
// containing it (so a log line holding an ID holds no phone number).
func UserID(phone string) string {
	sum := sha256.Sum256([]byte(phone))
	return "uid-" + hex.EncodeToString(sum[:8])
}

// PasswordWorks reports whether password is phone's current password.
func (e *Env) PasswordWorks(phone, password string) bool {
	e.T.Helper()
	u, err := e.Store.UserByPhone(context.Background(), e.Tenant.ID, phone)
	if err != nil {
		e.T.Fatalf("otpresettest: user %s: %v", phone, err)
	}
	ok, err := e.Hasher.Compare(context.Background(), password, u.PasswordHash)
	if err != nil {
		e.T.Fatalf("otpresettest: compare: %v", err)
	}
	return ok
}

// Do serves one request with a JSON body (nil for none) and returns the
// recorded answer, through Router when Mount set one. path may carry a
// query; neither Prefix nor "?apikey=..." is added (see Path).
func (e *Env) Do(method, path string, body any, header http.Header) *httptest.ResponseRecorder {
	e.T.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.T.Fatalf("otpresettest: body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	var h http.Handler = e.Handler
	if e.Router != nil {
		h = e.Router
	}
	h.ServeHTTP(rec, req)
	return rec
}

// Send asks for a code for phone.
func (e *Env) Send(phone string) *httptest.ResponseRecorder {
	return e.Do(http.MethodPost, e.Path()+"?apikey="+APIKey, map[string]string{"phone": phone}, nil)
}

// Reset resets phone's password with otp.
func (e *Env) Reset(phone, otp, password string) *httptest.ResponseRecorder {
	return e.Do(http.MethodPut, e.Path()+"?apikey="+APIKey, map[string]string{"phone": phone, "otp": otp, "Password": password}, nil)
}

// Code returns the last code sent to phone.
func (e *Env) Code(phone string) string { return e.Sender.Code(phone) }
