package otpreset_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/otpreset/go/captcha"
	"github.com/otpreset/go/otpreset"
	"github.com/otpreset/go/sms"
	"github.com/otpreset/go/store"
	"github.com/otpreset/go/store/memstore"
)

// probe is the Check of a fake component: it counts its calls, sees the
// context it was given, and answers err (or blocks, or panics).
type probe struct {
	err      error
	block    chan struct{} // when set, Check waits for it to close, ignoring ctx
	panics   bool
	calls    atomic.Int32
	deadline atomic.Bool
}

func (p *probe) Check(ctx context.Context) error {
	p.calls.Add(1)
	_, ok := ctx.Deadline()
	p.deadline.Store(ok)
	if p.panics {
		panic("probe panics")
	}
	if p.block != nil {
		<-p.block // ignores ctx, as a badly written driver might
	}
	return p.err
}

// checkedStore is a memstore with a Check: a store whose database is
// unreachable, unmigrated, or whose host queries do not prepare.
type checkedStore struct {
	*memstore.Store
	*probe
}

type checkedLimiter struct {
	limiter.Store
	*probe
}

type checkedSender struct {
	sms.LogSender
	*probe
}

type checkedVerifier struct {
	captcha.VerifierFunc
	*probe
}

var (
	errUnmigrated  = errors.New("schema at version 2, want 3: run Migrate")
	errUnreachable = errors.New("dial tcp 127.0.0.1:5432: connection refused")
)

// TestCheck: Handler.Check asks every component that can check itself,
// Composite parts one by one and each shared component once, and reports
// every problem named by its field, matchable both as ErrCheckFailed and as
// the component's own error.
func TestCheck(t *testing.T) {
	verifier := func(context.Context, captcha.Token) error { return nil }
	tests := []struct {
		name  string
		build func(cfg *otpreset.Config) []*probe // the probes that must be called once
		want  []string                            // in the error, in order; none: nil
		is    []error
	}{
		{"a store without Check", func(*otpreset.Config) []*probe { return nil }, nil, nil},
		{"a store that is fine", func(cfg *otpreset.Config) []*probe {
			p := &probe{}
			cfg.Store = checkedStore{memstore.New(), p}
			return []*probe{p}
		}, nil, nil},
		{"an unmigrated store", func(cfg *otpreset.Config) []*probe {
			p := &probe{err: errUnmigrated}
			cfg.Store = checkedStore{memstore.New(), p}
			return []*probe{p}
		}, []string{"Store: schema at version 2"}, []error{errUnmigrated}},
		{"composite parts, one shared by three fields", func(cfg *otpreset.Config) []*probe {
			users, shared := &probe{err: errUnreachable}, &probe{}
			rs := checkedStore{memstore.New(), shared}
			cfg.Store = store.Composite{Users: checkedStore{memstore.New(), users}, Challenges: rs, Sessions: rs}
			return []*probe{users, shared}
		}, []string{"Store.Users: dial tcp"}, []error{errUnreachable}},
		{"a composite by pointer", func(cfg *otpreset.Config) []*probe {
			sessions := &probe{err: errUnmigrated}
			m := memstore.New()
			cfg.Store = &store.Composite{Users: m, Challenges: m, Sessions: checkedStore{m, sessions}}
			return []*probe{sessions}
		}, []string{"Store.Sessions: schema"}, []error{errUnmigrated}},
		{"a shared part that fails is named by every field", func(cfg *otpreset.Config) []*probe {
			shared := &probe{err: errUnreachable}
			rs := checkedStore{memstore.New(), shared}
			cfg.Store = store.Composite{Users: memstore.New(), Challenges: rs, Sessions: rs}
			return []*probe{shared}
		}, []string{"Store.Challenges, Store.Sessions: dial tcp"}, []error{errUnreachable}},
		{"every problem at once", func(cfg *otpreset.Config) []*probe {
			st, lim, snd, ver := &probe{err: errUnmigrated}, &probe{err: errUnreachable}, &probe{err: errors.New("credentials refused")}, &probe{err: errors.New("secret refused")}
			cfg.Store = checkedStore{memstore.New(), st}
			cfg.RateLimitStore = checkedLimiter{memory.NewStore(), lim}
			cfg.Sender = &checkedSender{probe: snd}
			cfg.Tenants = otpreset.Tenants{"live-key-1234": {ID: "app", Captcha: otpreset.CaptchaPolicy{
				Mode: otpreset.CaptchaAlways, Verifier: checkedVerifier{verifier, ver}}}}
			return []*probe{st, lim, snd, ver}
		}, []string{"Store: schema", "RateLimitStore: dial tcp", "Sender: credentials refused",
			`tenant "app" (API key "live…") Captcha.Verifier: secret refused`}, []error{errUnmigrated, errUnreachable}},
		{"a Check that panics", func(cfg *otpreset.Config) []*probe {
			p := &probe{panics: true}
			cfg.Store = checkedStore{memstore.New(), p}
			return []*probe{p}
		}, []string{"Store: Check panicked: probe panics"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			probes := tc.build(&cfg)
			h, err := otpreset.New(cfg)
			require.NoError(t, err)
			err = h.Check(t.Context())
			for _, p := range probes {
				assert.Equal(t, int32(1), p.calls.Load(), "each component is asked once")
				assert.True(t, p.deadline.Load(), "Check bounds the context it passes on")
			}
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, otpreset.ErrCheckFailed)
			for _, target := range tc.is {
				assert.ErrorIs(t, err, target)
			}
			msg, at := err.Error(), 0
			for _, w := range tc.want {
				i := strings.Index(msg[at:], w)
				require.GreaterOrEqual(t, i, 0, "%q not in (the rest of) %q", w, msg)
				at += i + len(w)
			}
			assert.NotContains(t, msg, "live-key-1234", "the whole API key")
		})
	}
}

// TestCheckGivesUpAtTheDeadline: a component that never answers is reported
// when the caller's deadline passes; Check does not hang with it.
func TestCheckGivesUpAtTheDeadline(t *testing.T) {
	cfg := validConfig()
	stuck, fine := &probe{block: make(chan struct{})}, &probe{err: errUnmigrated}
	defer close(stuck.block)
	cfg.Store = checkedStore{memstore.New(), stuck}
	cfg.RateLimitStore = checkedLimiter{memory.NewStore(), fine}
	h, err := otpreset.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = h.Check(ctx)
	assert.Less(t, time.Since(start), 5*time.Second)
	require.ErrorIs(t, err, otpreset.ErrCheckFailed)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "Store: no answer: context deadline exceeded")
	assert.Contains(t, err.Error(), "RateLimitStore: schema", "the components that did answer are reported too")
}
