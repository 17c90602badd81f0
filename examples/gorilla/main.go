// Command gorilla mounts otpreset on a gorilla/mux subrouter under /api, next
// to the host's own routes and behind the host's own middleware.
//
//	go run ./examples/gorilla
package main

import (
	"crypto/rand"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/mux"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store/memstore"
)

// newRouter is the host's router: its own routes, and otpreset under /api.
func newRouter(h http.Handler) *mux.Router {
	r := mux.NewRouter()
	r.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "the host's home page")
	}).Methods(http.MethodGet)
	api := r.PathPrefix("/api").Subrouter()
	api.Use(requestLog)
	api.Handle(otpreset.Path, h).Methods(http.MethodPost, http.MethodPut)
	return r
}

// requestLog is the host's own middleware.
func requestLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		slog.Info("request", "method", r.Method, "path", r.URL.Path, "took", time.Since(start))
	})
}

func main() {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		log.Fatal(err)
	}
	h, err := otpreset.New(otpreset.Config{
		Store:   memstore.New(),
		Sender:  &sms.LogSender{W: os.Stdout},
		Tenants: otpreset.Tenants{"demo-api-key": {ID: "demo"}},
		Secret:  secret,
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: "127.0.0.1:8081", Handler: newRouter(h), ReadHeaderTimeout: 5 * time.Second}
	log.Printf("listening on http://%s/api%s", srv.Addr, otpreset.Path)
	log.Fatal(srv.ListenAndServe())
}
