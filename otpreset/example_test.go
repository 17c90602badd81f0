package otpreset_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gorilla/mux"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

// Mounting on the standard library's ServeMux.
func Example() {
	st := memstore.New() // use sqlstore or redisstore in production
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
		Secret:  []byte("0123456789abcdef0123456789abcdef"),
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
		Secret:  []byte("0123456789abcdef0123456789abcdef"),
	})
	fmt.Println(err)
	// Output: <nil>
}
