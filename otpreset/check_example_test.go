package otpreset_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

// hostUsers stands for a store over a host's users table whose query does
// not prepare: its Check says so.
type hostUsers struct{ *memstore.Store }

func (hostUsers) Check(context.Context) error {
	return errors.New("HostUsers.UserByPhone does not prepare: no such column: phone_number")
}

// Check before serving: New has checked the configuration; Check reaches
// the parts that can tell whether they work, here the users' part of a
// composite store, and names each one that does not.
func ExampleHandler_Check() {
	codes := memstore.New()
	h, err := otpreset.New(otpreset.Config{
		Store:   store.Composite{Users: hostUsers{memstore.New()}, Challenges: codes, Sessions: codes},
		Sender:  &sms.LogSender{},
		Tenants: otpreset.Tenants{"my-api-key": {ID: "my-app"}},
		Secret:  []byte("an example secret, never for production"),
	})
	if err != nil {
		log.Fatal(err)
	}
	err = h.Check(context.Background())
	fmt.Println(errors.Is(err, otpreset.ErrCheckFailed))
	fmt.Println(err)
	// Output:
	// true
	// otpreset: start-up check failed: Store.Users: HostUsers.UserByPhone does not prepare: no such column: phone_number
}
