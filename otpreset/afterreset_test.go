package otpreset_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/otpreset/otpresettest"
)

// afterResets records Config.AfterReset calls.
type afterResets struct {
	mu     sync.Mutex
	events []otpreset.ResetEvent
	panic  bool
}

func (a *afterResets) hook(ctx context.Context, e otpreset.ResetEvent) {
	a.mu.Lock()
	a.events = append(a.events, e)
	a.mu.Unlock()
	if ctx.Err() != nil {
		panic("AfterReset got a context that is already done")
	}
	if a.panic {
		panic("the host's hook failed")
	}
}

func (a *afterResets) got() []otpreset.ResetEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]otpreset.ResetEvent(nil), a.events...)
}

func withAfterReset(a *afterResets) otpresettest.Option {
	return func(c *otpreset.Config, _ *otpreset.Tenant) { c.AfterReset = a.hook }
}

func TestAfterResetIsNeverSuppressedByTheClient(t *testing.T) {
	for _, tt := range []struct {
		name   string
		query  string
		header http.Header
	}{
		{"no flag", "", nil},
		{"prevent_webhook=true", "&prevent_webhook=true", nil},
		{"X-PreventWebhook: true", "", http.Header{"X-Preventwebhook": {"true"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hooks := &afterResets{}
			env := otpresettest.New(t, withAfterReset(hooks))
			user := env.AddUser("+919999999999", "old-password-1")
			require.Equal(t, http.StatusOK, env.Send(user.Phone).Code)
			rec := env.Do(http.MethodPut, env.Path()+"?apikey="+otpresettest.APIKey+tt.query,
				map[string]string{"phone": user.Phone, "otp": env.Code(user.Phone), "Password": "a-new-password-1"}, tt.header)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			got := hooks.got()
			require.Len(t, got, 1, "one call per committed reset, whatever the client sent")
			assert.Equal(t, otpresettest.TenantID, got[0].TenantID)
			assert.Equal(t, user.ID, got[0].UserID)
			assert.True(t, got[0].At.Equal(env.Clock.Now()), "At is the handler's clock: %v", got[0].At)
			if tt.query != "" || tt.header != nil {
				assert.Empty(t, env.Webhooks.Events(), "the webhook itself is suppressed")
			}
		})
	}
}

func TestAfterResetNotCalledForAFailedReset(t *testing.T) {
	hooks := &afterResets{}
	env := otpresettest.New(t, withAfterReset(hooks))
	user := env.AddUser("+919999999999", "old-password-1")
	require.Equal(t, http.StatusOK, env.Send(user.Phone).Code)
	wrong := "000000"
	if env.Code(user.Phone) == wrong {
		wrong = "111111"
	}
	assert.Equal(t, http.StatusUnauthorized, env.Reset(user.Phone, wrong, "a-new-password-1").Code)
	assert.Empty(t, hooks.got(), "no call without a committed reset")
}

func TestAfterResetPanicLeavesTheResetDone(t *testing.T) {
	hooks := &afterResets{panic: true}
	env := otpresettest.New(t, withAfterReset(hooks))
	user := env.AddUser("+919999999999", "old-password-1")
	require.Equal(t, http.StatusOK, env.Send(user.Phone).Code)
	rec := env.Reset(user.Phone, env.Code(user.Phone), "a-new-password-1")
	assert.Equal(t, http.StatusOK, rec.Code, "a panicking hook does not undo the reset: %s", rec.Body)
	assert.Len(t, hooks.got(), 1)
	assert.True(t, env.PasswordWorks(user.Phone, "a-new-password-1"), "the new password is set")
}
