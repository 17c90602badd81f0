package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gorilla/mux"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store/memstore"
)

// README's "Mounting" snippet, compiled and run: the same handler at the
// root of a ServeMux, under a prefix, and on a gorilla/mux subrouter with
// the host's middleware.
func Example_mounting() {
	st := memstore.New()
	sender := &sms.LogSender{W: io.Discard}
	secret := []byte("an example secret, never for production") // in production: >= 32 random bytes
	ctx := context.Background()
	myMiddleware := requestLog

	h, err := otpreset.New(otpreset.Config{
		Store:   st,     // your store.Store (see Storage)
		Sender:  sender, // your sms.Sender (see Sending the code)
		Tenants: otpreset.Tenants{"my-api-key": {ID: "my-app", AppName: "My App"}},
		Secret:  secret, // >= 32 random bytes, the same on every instance
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := h.Check(ctx); err != nil { // reaches the store (and the other parts) before serving
		log.Fatal(err)
	}

	// net/http
	sm := http.NewServeMux()
	sm.Handle(otpreset.Path, h)
	sm.Handle("/auth/", http.StripPrefix("/auth", h)) // or under a prefix

	// gorilla/mux, on a subrouter with the host's middleware
	r := mux.NewRouter()
	api := r.PathPrefix("/api").Subrouter()
	api.Use(myMiddleware)
	api.Handle(otpreset.Path, h).Methods("POST", "PUT")

	// Each mount answers a reset (here with a code never sent: 401).
	for _, m := range []struct {
		router http.Handler
		path   string
	}{{sm, otpreset.Path}, {sm, "/auth" + otpreset.Path}, {r, "/api" + otpreset.Path}} {
		req := httptest.NewRequest(http.MethodPut, m.path+"?apikey=my-api-key",
			strings.NewReader(`{"phone":"+919999999999","otp":"123456","Password":"new password 1"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		m.router.ServeHTTP(rec, req)
		fmt.Println(m.path, rec.Code)
	}
	// Output:
	// /identity/v2/auth/password/otp 401
	// /auth/identity/v2/auth/password/otp 401
	// /api/identity/v2/auth/password/otp 401
}
