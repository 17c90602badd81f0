package storetest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/storetest"
)

// An adapter's conformance test is one call. Here the in-memory store is the
// adapter; a SQL adapter would return a store over a fresh schema instead.
func Example() {
	conformance := func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return memstore.New() // must also implement storetest.UserSeeder
		})
	}
	_ = conformance // in a _test.go file: func TestConformance(t *testing.T) { ... }
}

// TestRunOnMemstore runs the suite against the reference adapter, so a change
// to the suite that the reference cannot pass fails here first.
func TestRunOnMemstore(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memstore.New() })
}

// faultyMem is memstore with a Reset that fails while armed, the shape an
// adapter's fault test takes.
type faultyMem struct {
	*memstore.Store
	fail bool
}

var errInjected = errors.New("injected fault")

func (f *faultyMem) Reset(ctx context.Context, r store.Reset) error {
	if f.fail {
		return errInjected
	}
	return f.Store.Reset(ctx, r)
}

func TestResetFault(t *testing.T) {
	s := &faultyMem{Store: memstore.New()}
	err := storetest.ResetFault(t, s, func(*testing.T) func() {
		s.fail = true
		return func() { s.fail = false }
	})
	require.ErrorIs(t, err, errInjected)
}
