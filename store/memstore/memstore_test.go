package memstore_test

import (
	"testing"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/storetest"
)

var (
	_ store.Store          = (*memstore.Store)(nil)
	_ store.Resetter       = (*memstore.Store)(nil)
	_ store.Outbox         = (*memstore.Store)(nil)
	_ storetest.UserSeeder = (*memstore.Store)(nil)
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memstore.New() })
}
