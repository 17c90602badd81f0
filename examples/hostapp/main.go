package main

import (
	"context"
	"crypto/rand"
	"flag"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store/sqlite"
)

func main() {
	path := flag.String("db", "hostapp.db", "the host's SQLite database")
	addr := flag.String("addr", "127.0.0.1:8082", "listen address")
	flag.Parse()

	db, err := sqlite.Open(*path) // WAL, busy timeout, one connection: set explicitly
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	a, err := newApp(context.Background(), db, time.Now)
	if err != nil {
		log.Fatal(err)
	}
	// A demo secret drawn at each start: codes sent before a restart stop
	// working. A real host keeps one (>= 32 random bytes) in its secrets.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		log.Fatal(err)
	}
	h, err := otpreset.New(otpreset.Config{
		Store:   a.store,
		Sender:  &sms.LogSender{W: os.Stdout},
		Tenants: otpreset.Tenants{"hostapp-api-key": {ID: tenantID, AppName: "Host app"}},
		Secret:  secret,
		// Ends the host's scs sessions and JWTs of the user after every
		// reset; no client flag (prevent_webhook) can switch it off.
		AfterReset: a.afterReset,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := h.Check(context.Background()); err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: a.router(h), ReadHeaderTimeout: 5 * time.Second}
	log.Printf("listening on http://%s/api%s", srv.Addr, otpreset.Path)
	log.Fatal(srv.ListenAndServe())
}
