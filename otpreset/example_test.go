package otpreset_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/mux"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

// Mounting on the standard library's ServeMux.
func Example() {
	st := memstore.New() // use store/postgres, store/sqlite or redisstore in production
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	h, err := otpreset.New(otpreset.Config{
		Store:   st,
		Sender:  sms.SenderFunc(func(context.Context, sms.Message) (sms.Receipt, error) { return sms.Receipt{Sid: "SM1"}, nil }),
		Tenants: otpreset.Tenants{"my-api-key": {ID: "my-app", AppName: "My App"}},
		Secret:  secret,
	})
	if err != nil {
		log.Fatal(err)
	}
	m := http.NewServeMux()
	m.Handle(otpreset.Path, h)

	req := httptest.NewRequest("POST", otpreset.Path, strings.NewReader(`{"phone":"+919999999999"}`))
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 400 {"ErrorCode":908,"Message":"A parameter is not formatted correctly","Description":"The apikey is a required parameter.","IsProviderError":false,"ProviderErrorResponse":null}
}

// Mounting under a gorilla/mux subrouter, next to the host's own routes.
func Example_gorilla() {
	h, err := otpreset.New(otpreset.Config{
		Store:   memstore.New(),
		Sender:  &sms.LogSender{},
		Tenants: otpreset.Tenants{"my-api-key": {ID: "my-app"}},
		Secret:  []byte("an example secret, never for production"),
	})
	if err != nil {
		log.Fatal(err)
	}
	r := mux.NewRouter()
	r.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "home") })
	r.PathPrefix("/api").Subrouter().Handle(otpreset.Path, h).Methods("POST", "PUT")

	req := httptest.NewRequest("GET", "/api"+otpreset.Path, nil)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	fmt.Println(rec.Code) // gorilla answers the wrong method itself
	// Output: 405
}

// A custom Store: embed an adapter and override what differs, or implement
// store.Store over the host's own tables and check it with storetest.Run.
type auditedStore struct {
	store.Store
	audit func(userID string)
}

func (s auditedStore) UpdatePassword(ctx context.Context, c store.PasswordChange) error {
	if err := s.Store.UpdatePassword(ctx, c); err != nil {
		return err
	}
	s.audit(c.UserID)
	return nil
}

func Example_customStore() {
	st := auditedStore{Store: memstore.New(), audit: func(id string) { fmt.Println("password changed for", id) }}
	_, err := otpreset.New(otpreset.Config{
		Store:   st,
		Sender:  &sms.LogSender{},
		Tenants: otpreset.Tenants{"k": {ID: "t"}},
		Secret:  []byte("an example secret, never for production"),
	})
	fmt.Println(err)
	// Output: <nil>
}

// New checks every tenant at start-up: a typo in a rate, a code length out of
// range or a captcha mode without a verifier is refused here, all named at
// once, rather than answered 950 on every request.
func ExampleNew_invalidConfig() {
	_, err := otpreset.New(otpreset.Config{
		Store:  memstore.New(),
		Sender: &sms.LogSender{},
		Tenants: otpreset.Tenants{"my-api-key": {
			ID:         "t",
			CodeLength: 12,
			Limits:     otpreset.Limits{SendPerPhone: "3 a minute"},
			Captcha:    otpreset.CaptchaPolicy{Mode: otpreset.CaptchaAlways}, // no Verifier
		}},
		Secret: []byte("an example secret, never for production"),
	})
	fmt.Println(errors.Is(err, otpreset.ErrInvalidConfig))
	fmt.Println(err)
	// Output:
	// true
	// otpreset: invalid configuration: tenant "t" (API key "my-a…"): CodeLength 12 is outside 4 to 10
	// Limits.SendPerPhone: rate "3 a minute": want N-P, e.g. 3-15M
	// a Captcha.Verifier is required by the captcha mode or lockout type
}

// A tenant with every security setting spelled out at its default, but for
// the lockout, which asks for a captcha instead of suspending the phone.
func ExampleTenant() {
	verifier := captcha.VerifierFunc(func(context.Context, captcha.Token) error { return nil }) // recaptcha.New(...) in production
	tenant := &otpreset.Tenant{
		ID: "my-app", AppName: "My App", Domain: "example.com", Support: "help.example.com",
		CodeLength: 6, CodeTTL: 5 * time.Minute, MaxCodeAttempts: 5,
		// Mode is a CaptchaMode: CaptchaOff, CaptchaAlways or CaptchaAfterFailures.
		Captcha: otpreset.CaptchaPolicy{Mode: otpreset.CaptchaOff, Verifier: verifier},
		Limits: otpreset.Limits{
			SendPerPhone: "3-15M", SendPerIP: "20-1H", SMSPerTenantDay: "10000-1D",
			ResetPerIP:      "60-1H",
			LockoutAttempts: 5, LockoutWindow: 15 * time.Minute, MaxLockout: 24 * time.Hour,
			LockoutType: otpreset.LockoutCaptcha, // otpreset.LockoutSuspend answers 1198 instead
		},
		Pumping: otpreset.SMSPumping{PrefixDailyCap: "200-1D", PrefixDigits: 6, AllowedCallingCodes: []int{91, 1}},
	}
	_, err := otpreset.New(otpreset.Config{
		Store: memstore.New(), Sender: &sms.LogSender{}, Secret: []byte("an example secret, never for production"),
		Tenants: otpreset.Tenants{"my-api-key": tenant},
	})
	fmt.Println(err)
	// Output: <nil>
}

// A TenantResolver finds tenants elsewhere (a database, a config service);
// an unknown key is ErrUnknownAPIKey (901), any other error a fault (950).
// Each *Tenant is checked once, when first seen.
func ExampleTenantResolver() {
	byKey := map[string]*otpreset.Tenant{"k1": {ID: "app-1"}}
	resolver := resolverFunc(func(_ context.Context, key string) (*otpreset.Tenant, error) {
		if t, ok := byKey[key]; ok {
			return t, nil
		}
		return nil, otpreset.ErrUnknownAPIKey
	})
	h, _ := otpreset.New(otpreset.Config{
		Store: memstore.New(), Sender: &sms.LogSender{}, Tenants: resolver,
		Secret: []byte("an example secret, never for production"),
	})
	req := httptest.NewRequest("POST", otpreset.Path+"?apikey=nope", strings.NewReader(`{"phone":"+919999999999"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output: 403
}

// An operator lifts a phone's lockout once the owner is confirmed.
func ExampleHandler_Unlock() {
	h, _ := otpreset.New(otpreset.Config{
		Store: memstore.New(), Sender: &sms.LogSender{}, Tenants: otpreset.Tenants{"k": {ID: "my-app"}},
		Secret: []byte("an example secret, never for production"),
	})
	fmt.Println(h.Unlock(context.Background(), "my-app", "+91 99999 99999"))
	// Output: <nil>
}

// Behind a proxy, name the one header it sets and the networks it sends from.
func ExampleTrustedProxies() {
	clientIP, err := otpreset.TrustedProxies("X-Forwarded-For", "10.0.0.0/8")
	if err != nil {
		log.Fatal(err)
	}
	req := httptest.NewRequest("POST", otpreset.Path, nil)
	req.RemoteAddr = "10.0.0.7:51000" // the proxy
	req.Header.Set("X-Forwarded-For", "203.0.113.9, 10.0.0.3")
	req.Header.Set("X-Real-IP", "198.51.100.1") // not the named header: never read
	fmt.Println(clientIP(req))
	// Output: 203.0.113.9
	_ = otpreset.Config{ClientIP: clientIP}
}

// NormalizePhone is the E.164 form the handler keys users, codes and limits
// by: store users' phones in it.
func ExampleNormalizePhone() {
	for _, in := range []string{"+91 99999-99999", "0091 9999999999", "9999999999"} {
		e164, err := otpreset.NormalizePhone(in)
		fmt.Printf("%q %v\n", e164, errors.Is(err, otpreset.ErrInvalidPhone))
	}
	// Output:
	// "+919999999999" false
	// "+919999999999" false
	// "" true
}

// Profile reads a profile as a reset answers and a webhook carries it: the
// identity core typed, every other field kept as it came.
func ExampleProfile() {
	var p otpreset.Profile
	_ = json.Unmarshal([]byte(`{"Uid":"u1","Email":[{"Type":"Primary","Value":"a@example.com"}],"Company":"Acme"}`), &p)
	fmt.Println(p.Uid, p.Email[0] == otpreset.EmailEntry{Type: "Primary", Value: "a@example.com"}, string(p.Extra("Company")))
	p.SetExtra("Company", json.RawMessage(`"Acme Corp"`))
	b, _ := json.Marshal(p)
	fmt.Println(strings.Contains(string(b), `"Company":"Acme Corp"`))
	// Output:
	// u1 true "Acme"
	// true
}

// jwtLikeTokens is a host's own TokenIssuer (a signed token, say); the store
// still keeps only TokenHash of what it issues.
type jwtLikeTokens struct{}

func (jwtLikeTokens) Issue(_ context.Context, t *otpreset.Tenant, u store.User, now time.Time) (otpreset.Tokens, error) {
	exp := now.Add(time.Hour)
	return otpreset.Tokens{AccessToken: "at." + t.ID + "." + u.ID, RefreshToken: "rt." + u.ID, ExpiresAt: exp}, nil
}

func ExampleTokenIssuer() {
	var issuer otpreset.TokenIssuer = jwtLikeTokens{}
	tok, _ := issuer.Issue(context.Background(), &otpreset.Tenant{ID: "app"}, store.User{ID: "u1"}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(tok.AccessToken, tok.ExpiresAt.Format(time.RFC3339), len(otpreset.TokenHash(tok.AccessToken)))
	_ = otpreset.Config{Tokens: issuer}
	// Output: at.app.u1 2026-01-01T01:00:00Z 32
}

// Tracing with OpenTelemetry: give the handler a TracerProvider (your SDK's,
// or otel.GetTracerProvider() for the global one). Here a recorder shows the
// spans of a refused reset.
func ExampleConfig_tracing() {
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	h, _ := otpreset.New(otpreset.Config{
		Store: memstore.New(), Sender: &sms.LogSender{}, Tenants: otpreset.Tenants{"k": {ID: "my-app"}},
		Secret: []byte("an example secret, never for production"), TracerProvider: tp,
	})
	req := httptest.NewRequest("PUT", otpreset.Path+"?apikey=k", strings.NewReader(`{"phone":"+919999999999","otp":"000000","Password":"a new password"}`))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(httptest.NewRecorder(), req)
	for _, s := range recorder.Ended() {
		fmt.Println(s.Name())
	}
	// Output:
	// store.CheckCode
	// otpreset reset
}
