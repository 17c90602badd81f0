package otpreset_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset/otpresettest"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

// embeddedComposite is a host's store type that embeds a Composite to add a
// method of its own, as the quickstart's Redis mode does: it once answered
// 500 to every request (a nil part reached through the Composite's promoted
// methods).
type embeddedComposite struct {
	store.Composite
	users *memstore.Store
}

func (c embeddedComposite) AddUser(ctx context.Context, u store.User) error {
	return c.users.AddUser(ctx, u)
}

func TestEmbeddedCompositeServes(t *testing.T) {
	m := memstore.New()
	st := embeddedComposite{Composite: store.Composite{Users: m, Challenges: m, Sessions: m}, users: m}
	env := otpresettest.New(t, otpresettest.WithStore(st))
	user := env.AddUser("+919999999999", "old-password-1")
	rec := env.Send(user.Phone)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = env.Reset(user.Phone, env.Code(user.Phone), "a-new-password-1")
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}
