package sqlstore

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/store"
)

// BenchmarkReset measures a successful reset (with a new session and one
// outbox event) after saving its code, per dialect and user source.
func BenchmarkReset(b *testing.B) {
	for _, be := range backends() {
		for _, host := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/hostUsers=%v", be.name, host), func(b *testing.B) {
				benchReset(b, be, host)
			})
		}
	}
}

func benchReset(b *testing.B, be backend, host bool) {
	cfg, setup := Config{}, ""
	if host {
		cfg, setup = Config{HostUsers: hostUsers()}, hostSetup(be.name)
	}
	s := be.open(b, cfg, setup)
	ctx := b.Context()
	now := time.Now().UTC()
	require.NoError(b, s.AddUser(ctx, store.User{TenantID: "t", ID: "u", Phone: "+15550100", PasswordHash: "h",
		Profile: json.RawMessage(`{"Uid":"u"}`)}))
	i := 0
	for b.Loop() {
		i++
		code := fmt.Appendf(nil, "code-%d", i)
		require.NoError(b, s.SaveChallenge(ctx, store.Challenge{TenantID: "t", Phone: "+15550100", CodeHash: code,
			CreatedAt: now, ExpiresAt: now.Add(time.Minute), MaxAttempts: 5}))
		require.NoError(b, s.Reset(ctx, store.Reset{
			Check:  store.CodeCheck{TenantID: "t", Phone: "+15550100", CodeHash: code, Now: now},
			Change: store.PasswordChange{TenantID: "t", UserID: "u", PasswordHash: "new", Profile: json.RawMessage(`{"Uid":"u"}`), ChangedAt: now},
			NewSession: &store.Session{ID: fmt.Sprint("s", i), TenantID: "t", UserID: "u", AccessTokenHash: fmt.Appendf(nil, "a%d", i),
				RefreshTokenHash: []byte("r"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			Outbox: []store.OutboxMessage{{ID: fmt.Sprint("e", i), TenantID: "t", Payload: json.RawMessage(`{}`), CreatedAt: now}},
		}))
	}
}
