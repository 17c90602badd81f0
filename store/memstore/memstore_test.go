package memstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
	"github.com/otpreset/go/store/storetest"
)

var (
	_ store.Store          = (*memstore.Store)(nil)
	_ store.Resetter       = (*memstore.Store)(nil)
	_ store.Outbox         = (*memstore.Store)(nil)
	_ store.CodeIssuer     = (*memstore.Store)(nil)
	_ storetest.UserSeeder = (*memstore.Store)(nil)
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memstore.New() })
}

// Sends to unknown phones store no code, and their counters leave with
// their send window: 100,000 of them over a day keep the store as small as
// one window's worth.
func TestMemoryFlatOverUnknownPhones(t *testing.T) {
	s := memstore.New()
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	limit := store.SendLimit{Limit: 3, Period: 15 * time.Minute}
	const sends, every = 100_000, time.Second
	window := int(limit.Period / every)
	peak := 0
	for i := range sends {
		now = now.Add(every)
		c := store.Challenge{TenantID: "t", Phone: fmt.Sprintf("+9190%08d", i), Nonce: []byte{1}, CodeHash: []byte{2},
			CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), MaxAttempts: 5}
		got, err := s.IssueCode(ctx, store.Issue{Challenge: c, Network: "net", SendLimit: limit})
		require.NoError(t, err)
		require.False(t, got.Found)
		peak = max(peak, s.Size())
	}
	assert.LessOrEqual(t, peak, 2*window+1024, "bounded by what lives at once (one send window), not by what was sent")
	assert.Greater(t, peak, window/2, "the counters are kept for their window")
}
