// Command gettingstarted is README's "Getting started" program, printed there
// as it is here (main_test.go checks both, and runs it).
package main

import (
	"cmp"
	"context"
	"encoding/hex"
	"log"
	"net/http"
	"os"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store/memstore"
)

func main() {
	secret, err := hex.DecodeString(os.Getenv("OTPRESET_SECRET")) // openssl rand -hex 32
	if err != nil {
		log.Fatal(err)
	}
	h, err := otpreset.New(otpreset.Config{
		Store:   memstore.New(),               // store/sqlite, store/postgres, or your users table
		Sender:  &sms.LogSender{W: os.Stderr}, // prints each SMS; sms/twilio sends them
		Tenants: otpreset.Tenants{os.Getenv("OTPRESET_API_KEY"): {ID: "my-app", AppName: "My App"}},
		Secret:  secret,
	})
	if err != nil {
		log.Fatal(err) // names every setting it refuses
	}
	if err := h.Check(context.Background()); err != nil {
		log.Fatal(err) // a store it cannot reach, a schema not migrated
	}
	http.Handle(otpreset.Path, h)
	log.Fatal(http.ListenAndServe(cmp.Or(os.Getenv("ADDR"), "127.0.0.1:8080"), nil))
}
